"""phonghop: a real-time paperless meeting server.

The one import package of the distribution. Its subpackages are the repository's top-level
folders: `phonghop.rooms` is `rooms/` (the meeting-room kernel), `phonghop.documents`,
`phonghop.voting` and `phonghop.minutes` the features, `phonghop.server` the I/O shell,
`phonghop.store` and `phonghop.bus` its ports, `phonghop.signing` the signing library,
`phonghop.static` the web client; `phonghop.meeting_room` (this folder) assembles the room.
An installed distribution holds them inside this package (pyproject.toml's `package-dir`);
in the source tree they sit beside this folder, which is added to this package's path
below, so a checkout imports its own code whichever checkout is installed.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
if not (_HERE / "server").is_dir() and (_HERE.parent / "server" / "__init__.py").is_file() \
        and (_HERE.parent / "pyproject.toml").is_file():
    __path__.append(str(_HERE.parent))
