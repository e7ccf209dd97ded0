"""Every module of the project imports first, on its own, in a fresh interpreter.

An import cycle hides as long as modules happen to be imported in a lucky order (the
server used to start only because `server/app.py` imported `server/api.py` first, while
`import voting.commands` on its own failed). Here each module is the first thing a new
interpreter imports, so no order is lucky.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.architecture.modules import ROOT, project_modules

# Imports are CPU work: a small pool, one interpreter per module.
POOL = max(2, min(4, os.cpu_count() or 2))


def _import_alone(module: str) -> tuple[str, int, str]:
    # -c puts the working directory first on sys.path: this checkout's code is imported.
    code = f"import importlib; importlib.import_module({'phonghop.' + module!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    return module, done.returncode, done.stderr


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    modules = project_modules()
    assert {"meeting_room", "rooms.plugin", "voting.commands", "server.app"} <= set(modules)
    # The heaviest (the server's, the signing library's) first, so the pool ends together.
    modules.sort(key=lambda m: not m.startswith(("server.", "signing.")))
    with ThreadPoolExecutor(POOL) as pool:
        results = list(pool.map(_import_alone, modules))
    failed = {m: (err.strip().splitlines() or ["(no output)"])[-1]
              for m, code, err in results if code != 0}
    assert failed == {}
