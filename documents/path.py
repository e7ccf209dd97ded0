"""A stroke's points in a compact text form (`path`), on the wire and in the log.

A shared mark's points are page-relative numbers, x and y in turn (0..1 of the displayed
page). As JSON floats a stroke of 100 points takes about 1.6 KB, and a heavily drawn page
of a long meeting hundreds of KB. Its `path` is the same points as an encoded polyline
(Google's Encoded Polyline Algorithm Format, through the `polyline` library): each number
quantised to 1/10,000 of the page (0.06 pt on an A4 page), written as the difference from
the one before, zigzag-signed, in 5-bit groups as the ASCII characters `?`…`~`. A stroke of
100 points is then about 300 characters. The web client's encoder and decoder
(static/path.js) are checked against this one (tests/documents/test_path_js.py).

A path is validated before it is decoded: only those characters, at most four per number
(a quantised difference fits in three), an even count of numbers, each point on the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import polyline

PRECISION = 4  # decimal digits kept: 1/10,000 of the page
_FACTOR = 10**PRECISION
MAX_NUMBERS = 4000  # as documents/commands.py MAX_POINTS: 2,000 points
# One number: up to three groups with the continuation bit (`_`…`~`), then a last one
# (`?`…`^`); a path is a whole number of them.
_PATH = re.compile(r"(?:[_-~]{0,3}[?-^])*")
MAX_PATH = MAX_NUMBERS * 4


class BadPath(ValueError):
    """Not a path this server writes: the reason, for the refusal's message."""


def quantised(value: float) -> float:
    """`value` as a path keeps it: what decoding its encoding gives back (the encoder
    rounds half away from zero, as Python 2 did, not to even)."""
    scaled = math.floor(abs(value) * _FACTOR + 0.5)
    return math.copysign(scaled, value) / _FACTOR


def encode(points: Sequence[float]) -> str:
    """The path of flat points [x0, y0, x1, y1, …] (an even count, at least one pair)."""
    if len(points) < 2 or len(points) % 2:
        raise BadPath("points: x, y pairs")
    if not all(0.0 <= v <= 1.0 for v in points):  # NaN too
        raise BadPath("points: on the page, 0..1")
    return polyline.encode(list(zip(points[0::2], points[1::2], strict=True)), PRECISION)


def decode(path: str) -> list[float]:
    """The flat points of a path; `BadPath` unless it is well formed and on the page."""
    if not path or len(path) > MAX_PATH or not _PATH.fullmatch(path):
        raise BadPath("path: not an encoded polyline")
    numbers = sum(1 for ch in path if ch <= "^")  # each number ends with one of these
    if numbers % 2:
        raise BadPath("points: x, y pairs")
    if numbers > MAX_NUMBERS:
        raise BadPath("path: too many points")
    # Whole numbers, and an even count of them: decoding reads pairs and cannot overrun.
    points = [v for pair in polyline.decode(path, PRECISION) for v in pair]
    if any(not 0.0 <= v <= 1.0 for v in points):
        raise BadPath("path: a point off the page")
    return points


def with_points(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a mark, or the arguments of `annotation.add`, as JSON) with its stroke as
    `points`: a `path` is decoded (`BadPath` unless well formed), both at once are refused,
    a null path is no path; data without one is returned as it is."""
    if "path" not in data:
        return data
    path = data["path"]
    rest = {k: v for k, v in data.items() if k != "path"}
    if path is None:
        return rest
    if "points" in data:
        raise BadPath("points or path, not both")
    if not isinstance(path, str):
        raise BadPath("path: text")
    return {**rest, "points": decode(path)}


def points_of(mark: dict[str, Any]) -> list[float]:
    """A stored mark's flat points, whichever form it was written in (`path`, or
    `points` as marks were stored before paths)."""
    points = with_points(mark).get("points")
    return [float(v) for v in points] if isinstance(points, list) else []
