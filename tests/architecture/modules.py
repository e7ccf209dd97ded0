"""The project's modules, as the distribution installs them (pyproject.toml).

Names are given inside the one import package: `server.app` is `phonghop.server.app`, and
`meeting_room` is `phonghop.meeting_room`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "phonghop"

# Scripts rather than modules: importing them runs them.
SCRIPTS = {
    "__main__": "`python -m phonghop` runs the command line",
    "store.migrations.env": "Alembic's environment script, run by Alembic with a connection",
}


@cache
def _config() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def folder(package: str) -> Path:
    """The folder of an installed package (`phonghop.voting.secret`: voting/secret/)."""
    mapping: dict[str, str] = _config()["package-dir"]  # type: ignore[assignment]
    parts = package.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in mapping:
            return ROOT / mapping[".".join(parts[:n])] / "/".join(parts[n:])
    raise LookupError(package)


def short(module: str) -> str:
    """`phonghop.server.app` -> `server.app`; other names as they are."""
    return module[len(PACKAGE) + 1:] if module.startswith(PACKAGE + ".") else module


def project_modules() -> list[str]:
    """Every module of every package the distribution installs, named inside `phonghop`."""
    names: list[str] = []
    for package in _config()["packages"]:  # type: ignore[attr-defined]
        inside = short(package) if package != PACKAGE else ""
        if inside:
            names.append(inside)
        names += [f"{inside}.{p.stem}".lstrip(".") for p in sorted(folder(package).glob("*.py"))
                  if p.stem != "__init__"]
    return sorted(n for n in names if n not in SCRIPTS)


def source(module: str) -> Path:
    """The file a module (named inside `phonghop`) is read from."""
    path = folder(f"{PACKAGE}.{module}")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
