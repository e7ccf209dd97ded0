"""The layers of the meeting room, checked on the source (no import needed):

    rooms/ (the kernel)  <-  documents/, voting/, minutes/ (features: one plugin each)
                         <-  phonghop/meeting_room.py (the assembly)  <-  server/ (the I/O shell)

with, in server/, each feature's own edge (its endpoints, the ballot box) beside the
generic shell, which takes no room behaviour but from the assembly (FEATURE_IMPORTS,
EDGE_USERS).

Module names are given inside the `phonghop` package (tests/architecture/modules.py).
"""

from __future__ import annotations

import ast
from functools import cache

from tests.architecture.modules import project_modules, short, source

FEATURES = ("documents", "voting", "minutes")
# What a feature may use of the kernel: the plugin API and the kernel's data.
KERNEL_PUBLIC = {"rooms", "rooms.commands", "rooms.events", "rooms.plugin", "rooms.rejections",
                 "rooms.roles", "rooms.state"}
# The kernel's rules, handlers and views: reached only through the assembly.
KERNEL_INSIDE = {"rooms.apply", "rooms.constitution", "rooms.decide", "rooms.kernel",
                 "rooms.room", "rooms.substitutes", "rooms.view"}
# The features' state is held as fields of RoomState (docs/ARCHITECTURE.md, "The assembly").
STATE_MODELS = {"documents.model", "documents.marks", "voting.model", "minutes.model"}
# The feature modules each server module imports, exactly (a package name covers its
# submodules). A feature's own edge (its HTTP endpoints, the ballot box and its checks)
# uses its feature directly; the node runs the documents feature's file library and PDF
# workers; the seed and the CLI use a sample document and the board's verifier. No other
# server module imports a feature: the generic shell (the room host, the websocket, the
# log audit, ...) takes room behaviour from meeting_room only.
FEATURE_IMPORTS = {
    "server.documents_api": {"documents"},
    "server.polls_api": {"voting"},
    "server.ballot_box": {"voting"},
    "server.ballot_checks": {"voting.secret"},
    "server.minutes_api": {"minutes", "documents.pool"},
    "server.app": {"documents.library", "documents.pool"},
    "server.node": {"documents.library", "documents.model"},
    "server.seed": {"documents.sample"},
    "server.cli": {"voting.secret.board"},
}
# The features' edges in server/ and the server modules that use each, exactly: the app
# mounts the endpoints, the node makes each room's ballot box (`ROOM_PARTS`) and fills
# commands from it, the websocket takes ballots to it. The room host sees it only as one
# of the room's parts (`RoomPart`).
EDGE_USERS = {
    "server.documents_api": {"server.app", "server.minutes_api"},
    "server.polls_api": {"server.app"},
    "server.minutes_api": {"server.app", "server.cli"},
    "server.ballot_box": {"server.node", "server.ws"},
    "server.ballot_checks": {"server.ballot_box", "server.node"},
}
# Modules of the generic shell that name no feature and no feature's edge.
GENERIC_SHELL = {"server.room_host", "server.live_room", "server.log_audit", "server.fanout",
                 "server.connection", "server.group_commit", "server.api"}


@cache
def _tree(module: str) -> ast.Module:
    path = source(module)
    return ast.parse(path.read_text(), str(path)) if path.exists() else ast.Module([], [])


@cache
def _modules() -> frozenset[str]:
    return frozenset(project_modules())


def _imports(module: str) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import in `module`, anywhere in it;
    `from package import submodule` counts as importing the submodule."""
    found = []
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            found += [(short(alias.name), []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [alias.name for alias in node.names]
            found.append((short(node.module), names))
            found += [(short(f"{node.module}.{n}"), []) for n in names
                      if short(f"{node.module}.{n}") in _modules()]
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def _project(module: str) -> bool:
    return _top(module) in {_top(m) for m in _modules()}


def test_the_kernel_knows_no_feature() -> None:
    outside = (*FEATURES, "signing", "server", "store", "bus", "meeting_room")
    wrong = [(m, imported) for m in _modules() if _top(m) == "rooms"
             for imported, _ in _imports(m) if _top(imported) in outside
             and not (m == "rooms.state" and imported in STATE_MODELS)]
    assert wrong == []


def test_features_use_only_the_public_plugin_api_of_the_kernel() -> None:
    wrong = [(m, imported) for m in _modules() if _top(m) in FEATURES
             for imported, _ in _imports(m)
             if _top(imported) == "rooms" and imported not in KERNEL_PUBLIC]
    assert wrong == []


def test_no_private_name_crosses_a_package() -> None:
    wrong = [(m, imported, name) for m in _modules() for imported, names in _imports(m)
             if _project(imported) and _top(imported) != _top(m)
             for name in names if name.startswith("_") and not name.startswith("__")]
    assert wrong == []


def test_the_server_takes_room_behaviour_from_the_assembly_only() -> None:
    wrong = [(m, imported) for m in _modules() if _top(m) == "server"
             for imported, _ in _imports(m) if imported in KERNEL_INSIDE]
    assert wrong == []
    uses = {m for m in _modules() for imported, _ in _imports(m) if imported == "meeting_room"}
    assert {"server.node", "server.room_host", "server.ws", "server.api",
            "server.log_audit"} <= uses


def _covered(module: str, packages: set[str]) -> str | None:
    return next((p for p in packages if module == p or module.startswith(p + ".")), None)


def test_only_the_declared_server_modules_import_a_feature() -> None:
    """Each server module imports exactly the features FEATURE_IMPORTS gives it: nothing
    outside them, and no entry left over from code that is gone."""
    wrong, used = [], {m: set() for m in FEATURE_IMPORTS}
    for m in _modules():
        if _top(m) != "server":
            continue
        for imported, _ in _imports(m):
            if _top(imported) not in FEATURES:
                continue
            if (allowed := _covered(imported, FEATURE_IMPORTS.get(m, set()))) is None:
                wrong.append((m, imported))
            else:
                used[m].add(allowed)
    assert wrong == []
    assert used == FEATURE_IMPORTS


def test_the_features_edges_are_used_only_where_declared() -> None:
    users = {edge: {m for m in _modules() for imported, _ in _imports(m)
                    if imported == edge and m != edge} for edge in EDGE_USERS}
    assert users == EDGE_USERS
    shell = {(m, imported) for m in GENERIC_SHELL for imported, _ in _imports(m)
             if _top(imported) in FEATURES or imported in EDGE_USERS}
    assert shell == set()


def test_importing_a_module_changes_no_other_module() -> None:
    """No registration by import: no module-level statement of a project module calls into
    or assigns to another project module's attributes (`commands.COMMANDS.update(...)`)."""
    wrong = []
    for m in _modules():
        tree = _tree(m)
        aliases = {}
        for node in tree.body:
            if isinstance(node, ast.Import):
                aliases |= {(a.asname or a.name).split(".")[0]: short(a.name)
                            for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                aliases |= {a.asname or a.name: short(f"{node.module}.{a.name}")
                            for a in node.names
                            if short(f"{node.module}.{a.name}") in _modules()}
        for node in tree.body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                targets = [node.value.func]
            elif isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Attribute | ast.Subscript):
                    continue
                root = target
                while isinstance(root, ast.Attribute | ast.Subscript | ast.Call):
                    root = root.func if isinstance(root, ast.Call) else root.value
                if isinstance(root, ast.Name) and _project(aliases.get(root.id, "-")):
                    wrong.append((m, node.lineno))
    assert wrong == []


def test_no_module_is_named_by_its_old_top_level_name() -> None:
    """A module imported by name at run time (a worker's jobs, a lazy import) is named
    inside `phonghop`: its bare name (`"documents.worker"`) imports only while the
    repository's root is on sys.path, as in the tests' servers, never when installed."""
    wrong = []
    for m in _modules():
        tree = _tree(m)
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                    | ast.AsyncFunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and "." in node.value
                    and node.value in _modules()):
                wrong.append((m, node.lineno, node.value))
    assert wrong == []
