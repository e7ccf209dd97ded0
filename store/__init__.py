"""The store port and its SQL adapter (SQLite embedded, PostgreSQL at scale)."""

from phonghop.store.base import Duplicate, SeqConflict, Store, StoreError, StoreUnavailable
from phonghop.store.records import CommandMark, User
from phonghop.store.sql import SqlStore, sqlite_url

__all__ = [
    "CommandMark", "Duplicate", "SeqConflict", "SqlStore", "Store", "StoreError",
    "StoreUnavailable", "User", "sqlite_url",
]
