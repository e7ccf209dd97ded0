"""Every module of the project imports first, on its own, in a process of its own.

An import cycle hides as long as modules happen to be imported in a lucky order (the
server used to start only because `server/app.py` imported `server/api.py` first, while
`import voting.commands` on its own failed). Here each module is the first module of the
project that a new process imports, so no order is lucky.

The processes are forked from one interpreter that has imported the libraries the
project's modules import at their top (SQLAlchemy, pydantic, Starlette, pyHanko, …) and
nothing of the project: a cycle can only run through the project's own modules, and
importing those libraries again in each of 145 interpreters was most of this test's time.
What this cannot see: a module that uses a library's submodule it never imports (`import
sqlalchemy as sa`, then `sa.ext.asyncio…` at its top) passes here when another module
imports that submodule.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

from tests.architecture.modules import PACKAGE, ROOT, project_modules, source

# Imports are CPU work: two at a time on a small box, four at most.
POOL = max(2, min(4, os.cpu_count() or 2))

# Runs in the parent interpreter: imports the libraries, checks that nothing of the project
# came with them, then forks one child per module name (POOL at a time); each child imports
# its module and reports one JSON line.
ZYGOTE = r"""
import importlib, json, os, sys, traceback
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
project = json.loads(sys.argv[2])
early = sorted(m for m in sys.modules if m.split(".")[0] in project)
assert not early, f"the libraries imported the project: {early}"
pool = int(sys.argv[3])
running = {}
def reap():
    pid, status = os.wait()
    module, read = running.pop(pid)
    with os.fdopen(read) as pipe:
        error = pipe.read()
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps([module, code, error]), flush=True)
for module in sys.stdin.read().split():
    if len(running) >= pool:
        reap()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            os._exit(1)
        os._exit(0)
    os.close(write)
    running[pid] = (module, read)
while running:
    reap()
"""


def _libraries(modules: list[str]) -> list[str]:
    """What the project's modules import at their top from outside the project and the
    standard library (imports inside functions are left to each child)."""
    found: set[str] = set()
    for module in modules:
        path = source(module)
        if not path.exists():  # a package of data files (static/)
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return sorted(name for name in found
                  if name.split(".")[0] not in sys.stdlib_module_names
                  and name.split(".")[0] != PACKAGE)


def test_every_module_imports_first_in_a_process_of_its_own() -> None:
    modules = project_modules()
    assert {"meeting_room", "rooms.plugin", "voting.commands", "server.app"} <= set(modules)
    libraries = _libraries(modules)
    assert {"sqlalchemy", "pydantic", "starlette.requests"} <= set(libraries), libraries
    # The heaviest (the server's, the signing library's) first, so the pool ends together.
    modules.sort(key=lambda m: not m.startswith(("server.", "signing.")))
    # -c puts the working directory first on sys.path: this checkout's code is imported.
    done = subprocess.run(
        [sys.executable, "-c", ZYGOTE, json.dumps(libraries), json.dumps([PACKAGE]),
         str(POOL)],
        input="\n".join(f"{PACKAGE}.{m}" for m in modules), cwd=ROOT, capture_output=True,
        text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(r[0] for r in results) == sorted(f"{PACKAGE}.{m}" for m in modules)
    failed = {m: (err.strip().splitlines() or ["(no output)"])[-1]
              for m, code, err in results if code != 0}
    assert failed == {}
