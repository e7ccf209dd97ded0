"""The intake meter: a box is busy while ballots pour in, and quiet again soon after."""

from __future__ import annotations

from phonghop.server.intake import BUCKET, BUSY, Intake


def test_a_burst_makes_the_box_busy_and_a_pause_makes_it_quiet() -> None:
    meter = Intake()
    assert not meter.busy(100.0)
    for i in range(BUSY):  # BUSY ballots within one bucket
        meter.arrived(100.0 + i * BUCKET / (2 * BUSY))
    assert meter.busy(100.0 + BUCKET / 2)
    assert meter.busy(100.0 + 1.5 * BUCKET)  # the previous bucket still counts
    assert not meter.busy(100.0 + 2.5 * BUCKET)  # a bucket without a ballot: quiet


def test_a_steady_stream_below_the_rate_is_quiet() -> None:
    """Ballots spread over a meeting (a few a second) never hold checks back."""
    meter = Intake()
    per_two_buckets = BUSY - 1
    step = 2 * BUCKET / per_two_buckets
    for i in range(2000):
        meter.arrived(50.0 + i * step * 1.01)
        assert not meter.busy(50.0 + i * step * 1.01)


def test_a_sustained_burst_stays_busy_and_the_meter_holds_numbers_only() -> None:
    """Busy all along, and nothing kept per ballot: the meter's fields are numbers (it has
    no `__dict__` to hide a list in)."""
    meter = Intake()
    for i in range(100_000):  # 10,000 ballots a second for 10 s
        meter.arrived(i / 10_000)
        if i >= BUSY and i % 997 == 0:
            assert meter.busy(i / 10_000)
    assert not hasattr(meter, "__dict__")
    assert all(isinstance(getattr(meter, name), int | float) for name in Intake.__slots__)
