"""Whether ballots are pouring into a box right now, for deciding when to check proofs.

An encrypted ballot is acknowledged once it is in the box; its proofs are checked after,
on worker processes that take a core each (≈ 1–2 ms of CPU a ballot). While a burst
arrives those processes compete with the event loop that takes the ballots in, and the
voters wait for that loop, not for the checks. So while ballots pour in the box sends one
group of `TRICKLE` to be checked at a time and holds the rest back, no longer than
`MAX_HOLD`: a steady stream is checked as it comes, and a close starts whatever is held at
once (`server/ballot_box.py`).

The meter keeps two counters, never a list of arrivals: memory does not grow with a burst.
"""

from __future__ import annotations

BUCKET = 0.1  # seconds a counter covers
BUSY = 30  # ballots in the last two buckets (≥ 150 a second) that make the box busy
MAX_HOLD = 2.0  # seconds a ballot's checks may be held back at most
# Ballots checked at a time while held back: split between the checking processes, a few
# tens of milliseconds of work, then the next group; about one core's worth in all.
TRICKLE = 64


class Intake:
    """Arrivals at one box in the current and the previous `BUCKET` of time."""

    __slots__ = ("_current", "_previous", "_start", "bucket", "threshold")

    def __init__(self, bucket: float = BUCKET, busy: int = BUSY) -> None:
        self.bucket = bucket
        self.threshold = busy
        self._start: float | None = None  # the current bucket's start
        self._current = 0
        self._previous = 0

    def arrived(self, now: float) -> None:
        """Count one ballot arriving at `now` (a monotonic time, in seconds)."""
        self._roll(now)
        self._current += 1

    def busy(self, now: float) -> bool:
        """Whether ballots arrived at `BUSY` or more per two buckets until `now`."""
        self._roll(now)
        return self._current + self._previous >= self.threshold

    def _roll(self, now: float) -> None:
        if self._start is None:
            self._start = now
            return
        elapsed = now - self._start
        if elapsed < self.bucket:
            return
        if elapsed < 2 * self.bucket:  # the next bucket: the current one becomes previous
            self._previous, self._current = self._current, 0
            self._start += self.bucket
        else:  # a quiet gap of a bucket or more: nothing recent
            self._previous = self._current = 0
            self._start = now
