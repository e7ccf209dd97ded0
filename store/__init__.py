"""The store port and its SQL adapter (SQLite embedded, PostgreSQL at scale)."""

from store.base import Duplicate, SeqConflict, Store, StoreError, StoreUnavailable
from store.records import CommandMark, User
from store.sql import SqlStore, sqlite_url

__all__ = [
    "CommandMark", "Duplicate", "SeqConflict", "SqlStore", "Store", "StoreError",
    "StoreUnavailable", "User", "sqlite_url",
]
