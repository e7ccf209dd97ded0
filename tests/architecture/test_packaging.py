"""The distribution installs one import package, `phonghop`, and nothing else at the top.

Built as a user gets it: a wheel of this checkout (pip, as `pip install .` builds it), then
installed into a fresh virtual environment, outside the checkout. Generic names such as
`server` or `store` would collide with other packages in the same site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.architecture.modules import ROOT


def _run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: a build writes build/ and *.egg-info/ beside the sources.
    source = tmp_path_factory.mktemp("source") / "phonghop"
    _run(sys.executable, "-c", "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2], "
         "ignore=shutil.ignore_patterns('.git', 'node_modules', '__pycache__', '*.egg-info', "
         "'build', 'test-artifacts', '.venv', 'phonghop-data'))", ROOT, source, cwd=ROOT)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
         "-w", out, source, cwd=out)
    (built,) = out.glob("phonghop-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"phonghop", wheel.name.split("-py")[0] +
                                                 ".dist-info"}
    # The folders became subpackages, with their data: the web client and the migrations.
    for inside in ("phonghop/meeting_room.py", "phonghop/__main__.py",
                   "phonghop/server/app.py", "phonghop/rooms/kernel.py",
                   "phonghop/voting/secret/fast.py", "phonghop/static/index.html",
                   "phonghop/store/migrations/script.py.mako"):
        assert inside in names
    top_level = next(n for n in names if n.endswith("top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).split() == [b"phonghop"]


def test_the_installed_wheel_runs_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    # Installed into a folder of its own: what the installation adds is all there is in it.
    # The dependencies come from this interpreter's site-packages, after that folder.
    site = tmp_path / "site-packages"
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile",
         "--disable-pip-version-check", "--target", site, wheel, cwd=tmp_path)
    assert {p.name for p in site.iterdir()} - {"bin"} == {
        "phonghop", wheel.name.split("-py")[0] + ".dist-info"}
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = ("import phonghop, phonghop.server.app as app\n"
             "print(phonghop.__file__)\n"
             "print(app.STATIC.joinpath('index.html').is_file())\n")
    where, static = _run(sys.executable, "-c", probe, cwd=tmp_path, env=env
                         ).stdout.split("\n")[:2]
    assert where == str(site / "phonghop" / "__init__.py")
    assert static == "True"
    # The PDF workers (processes of their own, which import their jobs by name) find
    # them in the installed package: a page's text comes back from one.
    pdf = (
        "import asyncio, pymupdf\n"
        "from phonghop.documents.pool import WorkerPool\n"
        "doc = pymupdf.open(); doc.new_page().insert_text((72, 72), 'Phong hop'); "
        "doc.save('one.pdf')\n"
        "async def main():\n"
        "    pool = WorkerPool(1)\n"
        "    await pool.start()\n"
        "    try:\n"
        "        print(await pool.run('texts', 'one.pdf', limit=60))\n"
        "    finally:\n"
        "        await pool.stop()\n"
        "asyncio.run(main())\n")
    # (A worker that cannot import its jobs fails the job, `render_failed`; the bound is
    # for anything else that would keep it from answering.)
    assert "Phong hop" in _run(sys.executable, "-c", pdf, cwd=tmp_path, env=env,
                               timeout=120).stdout
    # The console script and `python -m phonghop` are the same command line.
    script = _run(sys.executable, site / "bin" / "phonghop", "--help", cwd=tmp_path,
                  env=env).stdout
    assert script == _run(sys.executable, "-m", "phonghop", "--help", cwd=tmp_path,
                          env=env).stdout
    assert "serve" in script and "demo" in script
