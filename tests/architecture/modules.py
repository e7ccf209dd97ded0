"""The project's modules, as the distribution installs them (pyproject.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Scripts rather than modules: importing them runs them.
SCRIPTS = {
    "server.__main__": "`python -m server` runs the command line",
    "store.migrations.env": "Alembic's environment script, run by Alembic with a connection",
}


def project_modules() -> list[str]:
    """Every module of every package (and top-level module) the distribution installs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    names = list(config.get("py-modules", []))
    for package in config["packages"]:
        folder = ROOT / package.replace(".", "/")
        names.append(package)
        names += [f"{package}.{p.stem}" for p in sorted(folder.glob("*.py"))
                  if p.stem != "__init__"]
    return sorted(n for n in names if n not in SCRIPTS)


def source(module: str) -> Path:
    """The file a module is read from."""
    path = ROOT / module.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
