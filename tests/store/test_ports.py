"""The store's ports: each role its own protocol, every method in exactly one of them, and
`SqlStore` implementing all of them (the contract tests of each port are beside this:
test_contract.py for the room log, accounts and sessions, test_files.py, test_credentials.py,
test_encrypted_box.py and test_recount.py for ballots, test_audit.py for the access log)."""

from __future__ import annotations

import inspect

from phonghop.store import SqlStore
from phonghop.store.audit import AuditLog
from phonghop.store.base import Store
from phonghop.store.ports import Accounts, Ballots, Credentials, Files, RoomLog, Sessions

PORTS = (Accounts, Sessions, RoomLog, Files, Ballots, Credentials, AuditLog)


def _methods(protocol: type) -> set[str]:
    return {n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")}


def test_every_method_of_the_store_is_in_exactly_one_port() -> None:
    owners: dict[str, list[str]] = {}
    for port in PORTS:
        for name in _methods(port):
            owners.setdefault(name, []).append(port.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
    everything = {n for n in dir(Store) if not n.startswith("_") and callable(getattr(Store, n))}
    assert everything - set(owners) == {"open", "close"}


def test_sql_store_implements_every_port_with_the_same_signatures() -> None:
    for port in PORTS:
        for name in _methods(port):
            declared = inspect.signature(getattr(port, name))
            implemented = inspect.signature(getattr(SqlStore, name))
            assert list(implemented.parameters) == list(declared.parameters), (port, name)
            assert inspect.iscoroutinefunction(getattr(SqlStore, name)), (port, name)
