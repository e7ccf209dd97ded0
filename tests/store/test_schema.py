"""A first start creates this version's schema in one step; the migrations build the same.

A fresh database is not migrated from 0001 on (that is most of a first start's work): it
gets `store/schema.py`'s tables, stamped at `SCHEMA_HEAD`. An existing database is still
migrated by Alembic, so both roads must end at the same schema, on both engines, down to
the indexes, the foreign keys' ON DELETE, SQLite's WITHOUT ROWID tables and the rows a
migration inserts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.ext.asyncio import create_async_engine

from phonghop.store import SqlStore, sql
from phonghop.store.sql import MIGRATIONS, SCHEMA_HEAD
from tests.store.conftest import _admin

Opener = Callable[[], Awaitable[SqlStore]]


def _schema(conn: sa.Connection) -> dict[str, Any]:
    """Everything about the tables that a query or a constraint could notice."""
    inspect = sa.inspect(conn)
    tables: dict[str, Any] = {}
    for name in sorted(inspect.get_table_names()):
        tables[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"),
                         c.get("autoincrement")) for c in inspect.get_columns(name)],
            "primary key": inspect.get_pk_constraint(name)["constrained_columns"],
            "foreign keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"],
                 tuple(fk["referred_columns"]), tuple(sorted(fk["options"].items())))
                for fk in inspect.get_foreign_keys(name)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                              for ix in inspect.get_indexes(name)),
            "unique": sorted(tuple(u["column_names"])
                             for u in inspect.get_unique_constraints(name)),
            "checks": sorted(str(c["sqltext"]) for c in inspect.get_check_constraints(name)),
            # and what they hold: the rows a migration puts in (the audit log's genesis)
            "rows": sorted(map(tuple, conn.execute(sa.text(f'SELECT * FROM "{name}"')))),
        }
    if conn.dialect.name == "sqlite":
        rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        tables["(without rowid)"] = sorted(
            name for name, sql in rows if sql.upper().rstrip().endswith("WITHOUT ROWID"))
    versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    tables["(version)"] = list(versions)
    return tables


def _migrate(conn: sa.Connection) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


async def _read(url: str) -> dict[str, Any]:
    engine = create_async_engine(SqlStore(url).url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_schema)
    finally:
        await engine.dispose()


async def test_a_first_start_creates_the_schema_the_migrations_build(
    store_url: str, open_store: Opener, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first start: an empty database, opened as `phonghop serve` opens it, which
    # creates the schema in one step (not through the migrations).
    created_in_one_step: list[bool] = []
    create = sql._create_at_head
    monkeypatch.setattr(sql, "_create_at_head",
                        lambda conn: (created_in_one_step.append(True), create(conn)))
    store = await open_store()
    await store.close()
    assert created_in_one_step == [True]
    created = await _read(store_url)
    assert created["(version)"] == [SCHEMA_HEAD]
    assert "room_events" in created and "audit_log" in created

    # The same empty database, migrated from nothing by Alembic.
    if store_url.startswith("postgresql"):
        await _admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public",
                     store_url.rsplit("/", 1)[-1])
        migrated_url = store_url
    else:
        migrated_url = store_url.replace("phonghop.db", "migrated.db")
    engine = create_async_engine(SqlStore(migrated_url).url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate)
    finally:
        await engine.dispose()
    migrated = await _read(migrated_url)

    assert created == migrated
    if store_url.startswith("sqlite"):  # the ballot tables keep no order of arrival
        assert {"poll_voters", "secret_ballots"} <= set(created["(without rowid)"])


async def test_nodes_starting_together_on_an_empty_database_all_start(pg_database: str) -> None:
    """Several nodes started at once on one fresh PostgreSQL database: one creates the
    schema, the others wait for it and find it done (an advisory lock). PostgreSQL only:
    an embedded SQLite database is opened by one process."""
    await _admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public",
                 pg_database.rsplit("/", 1)[-1])
    stores = [SqlStore(pg_database) for _ in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        for store in stores:
            assert await store.user_by_name("nobody") is None
    finally:
        for store in stores:
            await store.close()
    assert (await _read(pg_database))["(version)"] == [SCHEMA_HEAD]
