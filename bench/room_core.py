"""The pure room core: what one command and one snapshot cost, with no I/O at all.

In a room of --members delegates in session: `attendance.check_in` decided and applied for
every member (the bulk of a large meeting's traffic, quorum included), and `room_view` (a
join's snapshot) for 200 of them. Each figure is the best of --reps passes, in CPU time of
the measuring process (the box is shared: CPU time is what another process cannot steal).
With --baseline DIR the same measurement runs on that tree too (e.g. a worktree of the
commit before: `git worktree add /tmp/base HEAD~1`), alternating baseline and this tree
--rounds times, each pass in a fresh interpreter.

The last line on stdout is one JSON object: `checkin_us`, `room_view_us` (this tree, best
of all rounds), and with a baseline `base_checkin_us`, `base_room_view_us` and the ratios
(`checkin_ratio` = this tree / baseline).

Usage: python bench/room_core.py [--members 1000] [--reps 15] [--baseline DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _common import entry_module  # bench/ is the script's own folder

HERE = Path(__file__).resolve().parent.parent

# Runs inside a fresh interpreter whose working directory is the tree measured; its third
# argument is the tree's layout (`_common.entry_module`).
MEASURE = r'''
import dataclasses, json, sys, time
from datetime import UTC, datetime
if sys.argv[3] == "phonghop":  # one import package
    from phonghop.meeting_room import apply, decide, room_view
    from phonghop.rooms import Actor, RoomState
    from phonghop.rooms import commands as c
    from phonghop.rooms.state import Profile
else:  # a tree from before it: top-level packages
    try:
        from meeting_room import apply, decide, room_view
    except ImportError:  # from before the assembly: rooms/ was the whole room
        import server.api  # noqa: F401  (its import order registered the features)
        from rooms import apply, decide, room_view
    from rooms import Actor, RoomState
    from rooms import commands as c
    from rooms.state import Profile

members, reps = int(sys.argv[1]), int(sys.argv[2])
now = datetime(2026, 11, 22, 1, tzinfo=UTC)
admin = Actor(10**6, is_admin=True)


def run(state, actor, command):
    outcome = decide(state, command, actor, now)
    assert isinstance(outcome, list), outcome
    for event in outcome:
        state = apply(state, dataclasses.replace(event, seq=state.seq + 1))
    return state


state = run(RoomState(), admin, c.MeetingCreate(title="Họp",
                                                starts_at="2026-11-22T08:00:00+07:00"))
for uid in range(1, members + 1):
    role = "chair" if uid == 1 else "secretary" if uid == 2 else "delegate"
    state = run(state, admin, c.ParticipantAdd(
        user_id=uid, role=role, profile=Profile(user_id=uid, full_name=f"Đại biểu {uid}")))
state = run(state, Actor(1), c.SessionStart())
checkin = view = float("inf")
for _ in range(reps):
    s, t = state, time.process_time()
    for uid in range(1, members + 1):
        s = run(s, Actor(uid), c.CheckIn())
    checkin = min(checkin, (time.process_time() - t) / members)
    t = time.process_time()
    for uid in range(1, 201):
        room_view(s, uid)
    view = min(view, (time.process_time() - t) / 200)
print(json.dumps({"checkin_us": checkin * 1e6, "room_view_us": view * 1e6}))
'''


def measure(tree: Path, members: int, reps: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(members), str(reps),
                           entry_module(tree)],
                          cwd=tree, capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, float] = {}
    for n in range(args.rounds if args.baseline else 1):
        runs = [("", HERE)]
        if args.baseline:
            runs.insert(n % 2, ("base_", args.baseline.resolve()))  # ABBA
        for prefix, tree in runs:
            figures = measure(tree, args.members, args.reps)
            print(prefix or "this ", figures, file=sys.stderr)
            for key, value in figures.items():
                best[prefix + key] = min(best.get(prefix + key, float("inf")), value)
    result = {k: round(v, 1) for k, v in best.items()}
    if args.baseline:
        for key in ("checkin", "room_view"):
            result[f"{key}_ratio"] = round(best[f"{key}_us"] / best[f"base_{key}_us"], 3)
    print(json.dumps({"members": args.members, "reps": args.reps, **result}))


if __name__ == "__main__":
    main()
