"""Data at rest: what the process does before it writes anything.

The data directory holds the database (and its WAL), every document and page image, the
development CA's keys and the key-encryption key of stored credentials: nobody but the
service account may read any of it. The process mask makes every file it creates 0600 and
every directory 0700 (SQLite, PyMuPDF, LibreOffice and the PDF workers inherit it), and
whatever an older version left readable is tightened at start.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from phonghop.server.config import Settings

UMASK = 0o077
# Tightening walks the tree once per start: bounded, so that a huge document store cannot
# hold up the start (what is not reached now is reached on a later start).
MAX_TIGHTEN = 200_000


def protect(settings: Settings) -> None:
    """Set the process umask and tighten the data directory tree (and the KEK's)."""
    os.umask(UMASK)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tighten(settings.data_dir)
    if settings.files_dir is not None and settings.files_dir.exists():
        tighten(settings.files_dir)
    kek = settings.kek_file()
    if kek.exists() and not kek.is_relative_to(settings.data_dir):
        tighten(kek)


def tighten(root: Path, limit: int = MAX_TIGHTEN) -> int:
    """chmod go-rwx on `root` and everything under it that this user owns; the count changed.

    Symbolic links are not followed (a link in the data directory must not make us
    chmod a file elsewhere)."""
    changed = 0
    seen = 0
    uid = os.geteuid()
    stack = [root]
    while stack and seen < limit:
        path = stack.pop()
        seen += 1
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode) or st.st_uid != uid:
            continue
        if st.st_mode & 0o077:
            try:
                path.chmod(stat.S_IMODE(st.st_mode) & 0o700)
                changed += 1
            except OSError:
                pass
        if stat.S_ISDIR(st.st_mode):
            try:
                stack.extend(path.iterdir())
            except OSError:
                pass
    return changed


def bus_secret_for_workers(settings: Settings) -> None:
    """`serve --workers N --redis` without a bus secret: make one for the children.

    They are the only nodes of this deployment, and all inherit it through the environment;
    a deployment of several hosts sets its own (the same on every host)."""
    if settings.redis_url and settings.bus_secret() is None:
        generated = secrets.token_urlsafe(32)
        os.environ["PHONGHOP_BUS_SECRET"] = generated
        settings.bus_secret_value = generated
