"""`phonghop backup DIR` and `phonghop restore DIR`: the database and the stored files, with
a manifest that restore checks before it writes anything.

The database first: on SQLite through SQLite's online backup API (a consistent snapshot
taken while the server runs; in WAL mode its writers are not held up), on PostgreSQL with
`pg_dump --format=custom`, restored by `pg_restore`. Then the files the database refers
to, which are immutable and named by their hash, so any file the snapshot names is already
on disk when they are copied: the documents' originals (`files/`) and the markers of
confidential files (`sealed/`). Not copied: the page-image cache (rebuilt on demand),
temporary uploads, the development CA, and the key-encryption key of stored signing
credentials, which is backed up apart on purpose (docs/DEPLOY.md): a backup without it
holds no usable credential.

`manifest.json` is written last (a directory without one is an unfinished backup) and
lists every file with its size and SHA-256. Restore refuses a manifest that names a path
outside the backup's own layout, a file whose size or hash differs, a backup of the other
database engine, and a target that already holds data (a database, stored files) unless
`--force`. After writing, it checks what it restored: on SQLite, `PRAGMA integrity_check`;
on both engines every meeting's event hash chain (and the recount of its sealed boxes)
and the access log's chain (`phonghop audit verify`): a backup altered together with its
manifest is restored, and the restore says where the chain breaks and fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from phonghop.server.config import Settings
from phonghop.server.logs import VIETNAM

MANIFEST = "manifest.json"
FORMAT = "phonghop-backup"
VERSION = 1
SQLITE_FILE = "phonghop.db"
PG_FILE = "database.pgdump"
DOCUMENTS = "documents"
KEPT_DIRS = ("files", "sealed")  # under the documents directory: what a restore needs
MANIFEST_MAX = 64 * 1024 * 1024  # bytes: a manifest larger than this is not ours
CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BackupError(Exception):
    """A refusal, in Vietnamese and English; nothing was written (or the backup is unfinished)."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.vi = vi
        self.en = en


@dataclass(frozen=True)
class Entry:
    """One file of a backup: its path inside the backup, size and SHA-256."""

    path: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


# ---- backup ----

def backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Back up the deployment of `settings` into `target` (new or empty); the manifest."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} đã có dữ liệu: chọn một thư mục mới hoặc trống",
                          f"{target} is not empty: choose a new or empty directory")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    url = settings.store_url()
    entries: list[Entry] = []
    if _is_sqlite(url):
        source = _sqlite_path(url)
        if not source.is_file():
            raise BackupError(f"không có cơ sở dữ liệu {source}", f"no database at {source}")
        _sqlite_backup(source, target / SQLITE_FILE)
        store, schema = "sqlite", _sqlite_revision(target / SQLITE_FILE)
        entries.append(_entry(target, SQLITE_FILE))
    else:
        _pg_dump(url, target / PG_FILE)
        store, schema = "postgresql", asyncio.run(_pg_revision(url))
        entries.append(_entry(target, PG_FILE))
    # After the database: every file the snapshot names was on disk before it was taken.
    documents = settings.documents_dir()
    for kept in KEPT_DIRS:
        for source in _regular_files(documents / kept):
            relative = f"{DOCUMENTS}/{source.relative_to(documents).as_posix()}"
            entries.append(_copy(source, target / relative, relative))
    manifest = {
        "format": FORMAT, "version": VERSION, "store": store, "schema": schema,
        "created_at": datetime.now(UTC).astimezone(VIETNAM).isoformat(timespec="seconds"),
        # Where the event log's hash chain head goes once the log has one (issue 14,
        # point 5): restore then checks the restored chain against it.
        "files": [e.to_json() for e in sorted(entries, key=lambda e: e.path)],
    }
    _write_atomically(target / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def _sqlite_backup(source: Path, copy: Path) -> None:
    # mode=rw: a wrong path must fail, not create an empty database to back up.
    src = sqlite3.connect(_uri(source, "rw"), uri=True, timeout=30)
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # all pages in one step: a consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        finally:
            dst.close()
    finally:
        src.close()
    _fsync(copy)


def _sqlite_revision(path: Path) -> str | None:
    db = sqlite3.connect(_uri(path, "ro"), uri=True)
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        db.close()
    return row[0] if row else None


def _regular_files(root: Path) -> list[Path]:
    """Every regular file under `root`, sorted; links are neither followed nor copied."""
    found: list[Path] = []
    for directory, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def _copy(source: Path, copy: Path, relative: str) -> Entry:
    """Copy a file, hashing what was written; its manifest entry."""
    copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, copy.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return Entry(relative, size, digest.hexdigest())


def _entry(root: Path, relative: str) -> Entry:
    path = root / relative
    return Entry(relative, path.stat().st_size, _sha256(path))


# ---- restore ----

def verify(source: Path) -> dict[str, Any]:
    """The backup's manifest, once every file it lists has its size and SHA-256."""
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{source} không phải bản sao lưu hoàn chỉnh (thiếu {MANIFEST})",
                          f"{source} is not a finished backup (no {MANIFEST})")
    if manifest_path.stat().st_size > MANIFEST_MAX:
        raise BackupError(f"{MANIFEST} quá lớn", f"{MANIFEST} is too large")
    try:
        manifest = orjson.loads(manifest_path.read_bytes())
    except orjson.JSONDecodeError:
        raise BackupError(f"{MANIFEST} hỏng", f"{MANIFEST} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} không phải của phonghop",
                          f"{MANIFEST} is not a phonghop backup's")
    if manifest.get("version") != VERSION or manifest.get("store") not in ("sqlite",
                                                                           "postgresql"):
        raise BackupError("phiên bản sao lưu không được hỗ trợ",
                          "unsupported backup version or store")
    entries = _entries(manifest)
    database = SQLITE_FILE if manifest["store"] == "sqlite" else PG_FILE
    if database not in {e.path for e in entries}:
        raise BackupError("bản sao lưu thiếu cơ sở dữ liệu", "the backup has no database")
    for e in entries:
        path = source / e.path
        if path.is_symlink() or not path.is_file():
            raise BackupError(f"thiếu tệp {e.path}", f"missing file {e.path}")
        if path.stat().st_size != e.size or _sha256(path) != e.sha256:
            raise BackupError(f"tệp {e.path} bị thay đổi (kích thước hoặc SHA-256 khác)",
                              f"file {e.path} was altered (size or SHA-256 differs)")
    return manifest


def _entries(manifest: dict[str, Any]) -> list[Entry]:
    """The manifest's files, each at a path of the backup's own layout."""
    files = manifest.get("files")
    if not isinstance(files, list):
        raise BackupError(f"{MANIFEST} thiếu danh sách tệp", f"{MANIFEST} lists no files")
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in files:
        ok = (isinstance(item, dict) and isinstance(item.get("path"), str)
              and type(item.get("size")) is int and item["size"] >= 0
              and isinstance(item.get("sha256"), str) and _SHA256.fullmatch(item["sha256"]))
        if not ok or not _allowed(item["path"]) or item["path"] in seen:
            shown = str(item.get("path") if isinstance(item, dict) else item)[:100]
            raise BackupError(f"{MANIFEST}: mục không hợp lệ {shown!r}",
                              f"{MANIFEST}: invalid entry {shown!r}")
        seen.add(item["path"])
        entries.append(Entry(item["path"], item["size"], item["sha256"]))
    return entries


def _allowed(path: str) -> bool:
    """Only the backup's layout: the database file, or a file under documents/files or
    documents/sealed, with no `..`, no absolute path, nothing odd (a crafted manifest must
    not make restore write anywhere else)."""
    if path in (SQLITE_FILE, PG_FILE):
        return True
    pure = PurePosixPath(path)
    parts = pure.parts
    return (len(parts) >= 3 and parts[0] == DOCUMENTS and parts[1] in KEPT_DIRS
            and not pure.is_absolute() and pure.as_posix() == path
            and all(p not in ("", ".", "..") and "\\" not in p and "\0" not in p
                    for p in parts))


def restore(settings: Settings, source: Path, force: bool = False) -> dict[str, Any]:
    """Restore the backup in `source` into the deployment of `settings`; its manifest."""
    manifest = verify(source)
    url = settings.store_url()
    engine = "sqlite" if _is_sqlite(url) else "postgresql"
    if manifest["store"] != engine:
        raise BackupError(f"bản sao lưu là {manifest['store']}, nơi khôi phục là {engine}",
                          f"the backup is of {manifest['store']}, the target is {engine}")
    documents = settings.documents_dir()
    occupied = [str(documents / d) for d in KEPT_DIRS
                if (documents / d).is_dir() and any((documents / d).iterdir())]
    if engine == "sqlite":
        db = _sqlite_path(url)
        occupied += [str(p) for p in (db, _wal(db)) if p.exists()]
    elif asyncio.run(_pg_tables(url)):
        occupied.append(_without_password(url))
    if occupied and not force:
        raise BackupError("nơi khôi phục đã có dữ liệu (" + ", ".join(occupied)
                          + "): dùng --force để ghi đè",
                          "the target already holds data (" + ", ".join(occupied)
                          + "): --force overwrites it")
    if engine == "sqlite":
        _restore_sqlite(source / SQLITE_FILE, _sqlite_path(url))
    else:
        _pg_restore(url, source / PG_FILE, clean=force)
    for e in _entries(manifest):
        if e.path.startswith(f"{DOCUMENTS}/"):
            copy = documents / e.path.removeprefix(f"{DOCUMENTS}/")
            copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = copy.with_name(f".{copy.name}.restoring")
            shutil.copyfile(source / e.path, partial)
            _fsync(partial)
            os.replace(partial, copy)
    # What was restored is checked: the file, then the chains of the log and access log.
    if engine == "sqlite":
        _integrity(_sqlite_path(url))
    head = _schema_head()
    if manifest.get("schema") == head:
        manifest["verified"] = asyncio.run(_verify_chains(url))
    else:  # opening it would migrate it (or fail: a newer schema); the server checks it
        manifest["verified"] = {"skipped": manifest.get("schema"), "head": head}
    return manifest


def _schema_head() -> str | None:
    """The schema revision this version of phonghop migrates to."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from phonghop.store.sql import MIGRATIONS

    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(config).get_current_head()


async def _verify_chains(url: str) -> dict[str, Any]:
    """Every meeting's log (chain, snapshot, boxes: `server.log_audit`) and the access
    log's chain, on the restored database: what `phonghop audit verify` prints."""
    from phonghop.server.log_audit import audit_rooms
    from phonghop.store.sql import SqlStore

    store = SqlStore(url)
    await store.open()
    try:
        rooms = await audit_rooms(store)
        access = await store.verify_audit()
    finally:
        await store.close()
    return {"meetings": [a.to_json() for a in rooms], "access_log": {
        "ok": access.ok, "records": access.records, "head_seq": access.head_seq,
        "broken_seq": access.broken_seq, "problem": access.problem}}


def _restore_sqlite(copy: Path, db: Path) -> None:
    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = db.with_name(f".{db.name}.restoring")
    shutil.copyfile(copy, partial)
    _fsync(partial)
    _integrity(partial)
    # A WAL left beside the old database would be replayed into the restored one.
    for stale in (_wal(db), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    os.replace(partial, db)


def _integrity(db: Path) -> None:
    conn = sqlite3.connect(_uri(db, "ro"), uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        conn.close()
    if result is None or result[0] != "ok":
        raise BackupError("cơ sở dữ liệu khôi phục bị hỏng (integrity_check)",
                          f"the restored database fails its integrity check: {result}")


# ---- PostgreSQL ----

def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"cần {name} (gói postgresql-client) để sao lưu PostgreSQL",
                          f"{name} (package postgresql-client) is needed for PostgreSQL")
    return found


def _pg_args(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without its password, and the environment carrying that password: a
    password on the command line is readable by every user of the host (`ps`)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False), env


def _without_password(url: str) -> str:
    return _pg_args(url)[0]


def _pg_dump(url: str, out: Path) -> None:
    uri, env = _pg_args(url)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
          "--file", str(out), "--dbname", uri], env, "pg_dump")
    _fsync(out)


def _pg_restore(url: str, dump: Path, clean: bool) -> None:
    uri, env = _pg_args(url)
    args = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
            "--single-transaction", "--dbname", uri]
    if clean:
        args += ["--clean", "--if-exists"]
    _run([*args, str(dump)], env, "pg_restore")


def _run(args: list[str], env: dict[str, str], name: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise BackupError(f"{name} thất bại", f"{name} failed: " + " | ".join(tail))


async def _pg_connect(url: str) -> Any:
    import asyncpg

    uri, env = _pg_args(url)
    return await asyncpg.connect(uri, password=env.get("PGPASSWORD"))


async def _pg_revision(url: str) -> str | None:
    conn = await _pg_connect(url)
    try:
        with contextlib.suppress(Exception):
            return await conn.fetchval("SELECT version_num FROM alembic_version")
        return None
    finally:
        await conn.close()


async def _pg_tables(url: str) -> int:
    conn = await _pg_connect(url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
    finally:
        await conn.close()


# ---- helpers ----

def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_path(url: str) -> Path:
    return Path(str(make_url(url).database))


def _uri(path: Path, mode: str) -> str:
    """A SQLite URI for `path` (percent-encoded: a `?` or `#` in a path is not a query)."""
    return f"{path.resolve().as_uri()}?mode={mode}"


def _wal(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


# ---- the commands ----

def add_commands(sub: Any, common: Any) -> None:
    """`backup` and `restore` on the `phonghop` parser (`common` adds --data & co)."""
    made = sub.add_parser("backup", help="back up the database and stored files into DIR "
                                         "(while the server runs)")
    common(made)
    made.add_argument("dir", type=Path, help="a new or empty directory")
    back = sub.add_parser("restore", help="restore a backup from DIR into --data / "
                                          "--database (the server stopped)")
    common(back)
    back.add_argument("dir", type=Path, help="a directory made by `phonghop backup`")
    back.add_argument("--force", action="store_true",
                      help="overwrite a target that already holds data")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `backup` or `restore`: 0 done, 1 refused (the reason on stderr)."""
    import sys

    try:
        if args.cmd == "backup":
            manifest = backup(settings, args.dir)
        else:
            manifest = restore(settings, args.dir, force=args.force)
    except BackupError as exc:
        print(f"phonghop {args.cmd}: {exc.vi} / {exc.en}", file=sys.stderr)
        return 1
    files = manifest["files"]
    size = sum(f["size"] for f in files)
    print(f"phonghop {args.cmd}: {args.dir}: {manifest['store']} database + "
          f"{len(files) - 1} stored files, {size} bytes, SHA-256 checked")
    if args.cmd == "backup":
        print("  the credential key (KEK) is not in the backup: keep it apart "
              "(docs/DEPLOY.md)")
        return 0
    return _report_chains(manifest["verified"])


def _report_chains(verified: dict[str, Any]) -> int:
    """Print what the restore found of the chains; 1 when one does not hold."""
    import sys

    from phonghop.server.audit_cli import PROBLEMS as ACCESS_PROBLEMS
    from phonghop.server.log_audit import PROBLEMS

    if "skipped" in verified:
        print(f"  chuỗi băm chưa kiểm tra / hash chains not checked: lược đồ của bản sao lưu / "
              f"the backup's schema {verified['skipped']} ≠ {verified['head']}: máy chủ kiểm "
              f"tra khi nạp từng cuộc họp / the server checks each meeting as it loads it; "
              f"`phonghop audit verify` sau lần khởi động đầu / after its first start")
        return 0
    bad = [m for m in verified["meetings"] if not m["ok"]]
    access = verified["access_log"]
    print(f"  chuỗi băm / hash chains: {len(verified['meetings'])} cuộc họp / meetings, "
          f"{len(bad)} có vấn đề / with problems; nhật ký truy cập / access log: "
          f"{access['records']} bản ghi / records, "
          + ("nguyên vẹn / intact" if access["ok"] else "HỎNG / BROKEN"))
    for m in bad:
        if "broken" in m:
            vi, en = PROBLEMS[m["broken"]["problem"]]
            where = f"sự kiện số / seq {m['broken']['seq']}: {vi} / {en}"
        else:
            where = ("kết quả biểu quyết không khớp hòm phiếu hoặc ảnh chụp khác nhật ký / "
                     f"a result does not match its box or the snapshot differs: {m}")
        print(f"phonghop restore: cuộc họp {m['meeting']} / meeting {m['meeting']}: {where}",
              file=sys.stderr)
    if not access["ok"]:
        vi, en = ACCESS_PROBLEMS.get(access["problem"] or "", (access["problem"],) * 2)
        print(f"phonghop restore: nhật ký truy cập / access log: #{access['broken_seq']}: "
              f"{vi} / {en}", file=sys.stderr)
    if bad or not access["ok"]:
        print("phonghop restore: dữ liệu đã khôi phục nhưng không được tin cậy: đừng chạy "
              "máy chủ trên nó / restored, but the data cannot be trusted: do not serve it",
              file=sys.stderr)
        return 1
    return 0
