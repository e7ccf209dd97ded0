"""The `phonghop` command: serve, demo, accounts (create-admin, passwd), seeding for
benchmarks, the verifiers (a signed PDF, a secret poll's board) and the logs (`audit`:
every meeting's log and the access log, server/audit_cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from phonghop.server import audit_cli, backup, logs
from phonghop.server.at_rest import bus_secret_for_workers, protect
from phonghop.server.client_address import parse_proxies
from phonghop.server.config import Settings
from phonghop.server.metrics import metrics_address, metrics_token

if TYPE_CHECKING:  # the server itself is imported by the commands that run it, not by
    # create-admin, passwd or verify
    from phonghop.bus.base import Bus
    from phonghop.server.node import Node
    from phonghop.store.base import Store


def _common(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--data", type=Path, default=defaults.data_dir,
                        help="directory for the SQLite database and files")
    parser.add_argument("--database", default=defaults.database_url,
                        help="database URL (default: SQLite in --data)")
    parser.add_argument("--redis", default=defaults.redis_url,
                        help="Redis URL for the bus between nodes (default: in-process)")
    parser.add_argument("--workers", type=int, default=defaults.workers,
                        help="node processes sharing the port (needs --redis when > 1)")
    parser.add_argument("--insecure-dev-http", action="store_true", default=defaults.dev,
                        help="development mode (also PHONGHOP_DEV=1): cookies without Secure "
                             "for plain HTTP, and the development CA trusted. NEVER in "
                             "production")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(host=args.host, port=args.port, data_dir=args.data,
                    database_url=args.database, redis_url=args.redis, workers=args.workers,
                    dev=args.insecure_dev_http or args.cmd == "demo")


def serve(settings: Settings) -> None:
    """Run the server in the foreground until interrupted (one node, or N worker nodes)."""
    _raise_fd_limit()
    try:  # settings that would otherwise fail deep inside the app: one line, no traceback
        settings.public_origins()
        parse_proxies(settings.trusted_proxies)
        metrics_address(settings)
        metrics_token(settings)
        logs.check(settings)
    except ValueError as exc:
        sys.exit(f"phonghop: {exc}")
    logs.configure(settings)
    if settings.workers > 1:
        bus_secret_for_workers(settings)
        _serve_workers(settings)
        return
    import uvicorn

    from phonghop.server.app import create_app
    from phonghop.server.wire import WireProtocol

    config = uvicorn.Config(
        create_app(settings), host=settings.host, port=settings.port,
        ws=WireProtocol, http="httptools", ws_max_size=settings.max_message_bytes,
        ws_ping_interval=settings.heartbeat_s, ws_ping_timeout=settings.heartbeat_s,
        ws_per_message_deflate=False, backlog=8192, log_level="warning",
        # server/logs.py formats every line (uvicorn's too); access lines are its own.
        log_config=None, access_log=False,
        timeout_graceful_shutdown=5,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; phonghop reads it
        # itself, only from PHONGHOP_TRUSTED_PROXIES (server/client_address.py).
        proxy_headers=False,
    )
    # SO_REUSEPORT: worker nodes each bind the same port and the kernel spreads connections.
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets created that way,
    # and without it a frame written right after another (an ack after its events) waits
    # for the client's delayed ACK, about 40 ms.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.port))
    uvicorn.Server(config).run(sockets=[sock])


def _serve_workers(settings: Settings) -> None:
    """Run `workers` identical nodes on one port; each is a full node on the shared backends."""
    if not settings.redis_url:
        sys.exit("phonghop: --workers > 1 needs --redis, so that the nodes hear each other")
    # Migrate once here, so that N nodes starting together do not race on the schema.
    asyncio.run(_with_node(settings, _nothing))
    argv = [sys.executable, "-m", "phonghop", "serve", "--host", settings.host,
            "--port", str(settings.port), "--data", str(settings.data_dir),
            "--redis", settings.redis_url, "--workers", "1"]
    if settings.dev:
        argv.append("--insecure-dev-http")
    if settings.database_url:
        argv += ["--database", settings.database_url]
    def start(index: int) -> subprocess.Popen[bytes]:
        # Each knows its place: worker i serves its metrics on the metrics port + i.
        return subprocess.Popen(argv, env={**os.environ, "PHONGHOP_WORKER_INDEX": str(index)})

    children = [start(i) for i in range(settings.workers)]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        if stopping:
            if all(c.poll() is not None for c in children):
                return
        else:
            # A worker that dies is replaced; its clients reconnect to the others meanwhile.
            for i, child in enumerate(children):
                if child.poll() is not None:
                    children[i] = start(i)
        time.sleep(0.5)


async def _nothing(node: Node) -> None:
    return None


def _raise_fd_limit() -> None:
    # Every websocket is a file descriptor; a large conference needs thousands.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _with_node(settings: Settings, work):  # type: ignore[no-untyped-def]
    from phonghop.bus.local import LocalBus
    from phonghop.server.app import make_node

    node = make_node(settings, LocalBus())  # seeding needs no other node
    await node.start()
    try:
        return await work(node)
    finally:
        await node.stop()


async def _demo(node: Node, settings: Settings) -> dict | None:  # type: ignore[type-arg]
    """The demo data, and development signing credentials for the demo meeting's chair and
    secretary, who sign its minutes (their PKCS#12 password is the demo password)."""
    from phonghop.server.dev_credentials import issue_dev_credentials
    from phonghop.server.seed import DEMO_PASSWORD, DEMO_SIGNERS, seed_demo

    seeded = await seed_demo(node)
    if seeded:
        await issue_dev_credentials(node, settings.data_dir, DEMO_PASSWORD,
                                    usernames=list(DEMO_SIGNERS), kek_file=settings.kek_file())
    return seeded


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin with --password-stdin, else typed twice at a
    prompt that does not echo it."""
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    import getpass

    first = getpass.getpass("Mật khẩu mới / New password: ")
    if getpass.getpass("Nhập lại / Repeat: ") != first:
        sys.exit("phonghop: hai lần nhập không khớp / the two entries differ")
    return first


def _checked_password(args: argparse.Namespace, username: str) -> str:
    from phonghop.server.auth import password_problem

    password = _read_password(args)
    problem = password_problem(password, username)
    if problem is not None:
        vi, en = _texts("weak_password")
        sys.exit(f"phonghop: {vi} / {en} ({problem})")
    return password


def _texts(code: str) -> tuple[str, str]:
    from phonghop.rooms.rejections import TEXTS

    return TEXTS[code]


async def _with_store(settings: Settings, work, deployment_bus: bool = False):  # type: ignore[no-untyped-def]
    """Run `work(store, bus)` on the deployment's store (migrated) and, with
    `deployment_bus` and --redis, its bus (else None): account commands need no node."""
    from phonghop.bus.redis import RedisBus
    from phonghop.server.auth import use_password_profile
    from phonghop.store.sql import SqlStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    use_password_profile(settings.password_profile)
    store = SqlStore(settings.store_url())
    await store.open()
    bus = None
    try:
        if deployment_bus and settings.redis_url:
            from phonghop.server.app import required_bus_secret

            bus = RedisBus(settings.redis_url, settings.bus_namespace(),
                           secret=required_bus_secret(settings))
            await bus.open()
        return await work(store, bus)
    finally:
        if bus is not None:
            await bus.close()
        await store.close()


async def _create_admin(store: Store, args: argparse.Namespace, password: str) -> str | None:
    """Create the administrator; an error message if the username is taken."""
    from phonghop.server.auth import hash_password
    from phonghop.store.base import Duplicate

    try:
        made = await store.create_user(args.username, await asyncio.to_thread(
            hash_password, password), args.full_name, args.position, args.unit, True)
    except Duplicate:
        return f"phonghop: tên đăng nhập {args.username!r} đã có / username already exists"
    await audit_cli.record_host_action(store, "account.create", made.id)
    return None


async def _passwd(store: Store, bus: Bus | None, username: str, password: str) -> str | None:
    """Set the password and end the account's sessions: at once on every node through the
    bus (--redis); without one, the running server's sweep and session cache let go within
    half a minute. An error message if there is no such account."""
    from datetime import UTC, datetime

    from phonghop.server.auth import hash_password
    from phonghop.server.sessions import CHANNEL, user_revoked

    user = await store.user_by_name(username)
    if user is None:
        return f"phonghop: không có tài khoản {username!r} / no such account"
    await store.set_password(user.id, await asyncio.to_thread(hash_password, password),
                             datetime.now(UTC))
    await audit_cli.record_host_action(store, "account.password_reset", user.id)
    if bus is not None:
        await bus.publish(CHANNEL, user_revoked(user.id))
    return None


def _verify(args: argparse.Namespace) -> int:
    """`phonghop verify`: the report on stdout; 0 when all signatures hold, 1 when not,
    2 when the file cannot be read."""
    from phonghop.server.minutes_api import report_dict
    from phonghop.signing.trust import Trust
    from phonghop.signing.verify import verify_pdf

    # Only what the caller names is trusted: a development CA left in a data directory must
    # never make a forged signature look valid by default.
    trust_files = list(args.trust)
    if args.dev_ca:
        dev = (args.data or Settings().data_dir) / "dev-ca" / "ca.pem"
        if not dev.exists():
            print(f"phonghop verify: --dev-ca: {dev} does not exist", file=sys.stderr)
            return 2
        trust_files.append(dev)
    if not trust_files:
        print("phonghop verify: no trusted roots given (--trust ROOT.pem): signatures can be "
              "checked for integrity but not trusted", file=sys.stderr)
    try:
        pdf = args.file.read_bytes()
    except OSError as exc:
        print(f"phonghop verify: {exc}", file=sys.stderr)
        return 2
    trust = Trust.from_pem_files(*trust_files) if trust_files else Trust(())
    report = verify_pdf(pdf, trust=trust)
    data = report_dict(report)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str, indent=2))
    else:
        for s in data["signatures"]:
            signer = (s["signer"] or {}).get("name", "?")
            state = "HỢP LỆ / VALID" if s["ok"] else "KHÔNG HỢP LỆ / INVALID"
            print(f"{s['field']}: {signer}, {s['signing_time']}: {state}")
            print(f"  intact={s['intact']} valid={s['valid']} trusted={s['trusted']} "
                  f"coverage={s['coverage']} changes_after={s['changes_after']}")
            for p in s["problems"]:
                print(f"  - {p['vi']} / {p['en']}")
        for p in data["problems"]:
            print(f"- {p['vi']} / {p['en']}")
        if data["unsigned_fields"]:
            print("unsigned fields: " + ", ".join(data["unsigned_fields"]))
        print("ALL VALID" if data["all_valid"] else "NOT VALID")
    return 0 if report.all_valid else 1


def _verify_poll(args: argparse.Namespace) -> int:
    """`phonghop verify-poll`: recompute a secret poll's board (docs/BALLOT_CRYPTO.md);
    0 only when the published result follows from the published ballots, 1 when the board
    is wrong, 2 when the file is not a readable board, 3 when it carries no result yet."""
    from phonghop.voting.secret.board import BoardStatus, verify_board

    try:
        doc = json.loads(args.file.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"phonghop verify-poll: {args.file}: {exc}", file=sys.stderr)
        return 2
    report = verify_board(doc)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return report.exit_code
    for p in report.problems:
        where = f" [{p.where}]" if p.where else ""
        detail = f": {p.detail}" if p.detail else ""
        print(f"- {p.to_json()['vi']} / {p.to_json()['en']}{where}{detail}")
    if report.status == BoardStatus.VERIFIED:
        print(f"voters: {report.voters}; counts: {report.counts}")
    print({BoardStatus.VERIFIED: "KẾT QUẢ ĐÚNG / RESULT VERIFIED",
           BoardStatus.INVALID: "KHÔNG HỢP LỆ / NOT VALID",
           BoardStatus.NOT_A_BOARD: "KHÔNG PHẢI BẢNG PHIẾU / NOT A BOARD",
           BoardStatus.OPEN: "CHƯA KẾT THÚC / POLL STILL OPEN (no result)",
           BoardStatus.VOID: "KHÔNG KIỂM ĐƯỢC / VOID (fewer than t shares)"}[report.status])
    return report.exit_code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="phonghop", description="Paperless meeting server")
    sub = parser.add_subparsers(dest="cmd", required=True)
    _common(sub.add_parser("serve", help="run the server"))
    _common(sub.add_parser("demo", help="seed a demo organisation and run the server"))
    bench = sub.add_parser("bench-seed", help="seed a large meeting for benchmarks")
    _common(bench)
    bench.add_argument("--delegates", type=int, default=1000)
    bench.add_argument("--items", type=int, default=1000)
    bench.add_argument("--sites", type=int, default=0,
                       help="online sites; delegate i sits at site i %% (sites + 1), 0: hall")
    devca = sub.add_parser("dev-ca", help="development CA and signing credentials "
                                          "(NOT FOR PRODUCTION)")
    _common(devca)
    devca.add_argument("--password", default="demo1234",
                       help="the password of every PKCS#12 file (default demo1234)")
    devca.add_argument("--user", action="append", dest="users",
                       help="only this username (repeatable; default every account)")
    admin = sub.add_parser("create-admin", help="create an administrator account (the first "
                                                "one of a real deployment)")
    _common(admin)
    admin.add_argument("--username", required=True)
    admin.add_argument("--full-name", required=True)
    admin.add_argument("--position", default="")
    admin.add_argument("--unit", default="")
    admin.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (no prompt)")
    passwd = sub.add_parser("passwd", help="set an account's password; its sessions end")
    _common(passwd)
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (no prompt)")
    verify = sub.add_parser("verify", help="verify the signatures of a PDF; exit 0 only when "
                                           "every signature is valid and trusted")
    verify.add_argument("file", type=Path)
    verify.add_argument("--trust", action="append", type=Path, default=[],
                        help="PEM file of trusted roots (repeatable)")
    verify.add_argument("--dev-ca", action="store_true",
                        help="also trust the data directory's development CA "
                             "(NOT FOR PRODUCTION: `phonghop demo` and `dev-ca` make it)")
    verify.add_argument("--data", type=Path, help="data directory (for --dev-ca)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify_poll = sub.add_parser("verify-poll", help="verify a secret poll's board; exit 0 "
                                                     "only when its result follows")
    verify_poll.add_argument("file", type=Path)
    verify_poll.add_argument("--json", action="store_true", help="print the report as JSON")
    backup.add_commands(sub, _common)
    audit_cli.add_parser(sub, _common)
    args = parser.parse_args(argv)
    if args.cmd == "verify":
        sys.exit(_verify(args))
    if args.cmd == "verify-poll":
        sys.exit(_verify_poll(args))
    settings = _settings(args)
    protect(settings)  # umask 077, and the data directory tightened: before any write
    if args.cmd in ("backup", "restore"):
        sys.exit(backup.run(args, settings))
    if args.cmd == "audit":
        sys.exit(audit_cli.run(args, settings, _with_store))

    if args.cmd in ("create-admin", "passwd"):
        from unicodedata import normalize

        if args.cmd == "create-admin":
            import re

            if not re.fullmatch(r"[a-zA-Z0-9_.@-]{2,64}", args.username) or not args.full_name:
                sys.exit("phonghop: tên đăng nhập 2-64 ký tự a-z 0-9 _ . @ - và họ tên bắt buộc"
                         " / username: 2-64 of a-z 0-9 _ . @ -, and a full name, are required")
            args.full_name = normalize("NFC", args.full_name).strip()
            args.position = normalize("NFC", args.position).strip()
            args.unit = normalize("NFC", args.unit).strip()
            password = _checked_password(args, args.username)
            error = asyncio.run(_with_store(
                settings, lambda store, _bus: _create_admin(store, args, password)))
        else:
            password = _checked_password(args, args.username)
            error = asyncio.run(_with_store(
                settings, lambda store, bus: _passwd(store, bus, args.username, password),
                deployment_bus=True))
        if error:
            sys.exit(error)
        print(f"phonghop {args.cmd}: {args.username}: OK")
        return

    if args.cmd == "dev-ca":
        from phonghop.server.dev_credentials import issue_dev_credentials

        result = asyncio.run(_with_node(settings, lambda node: issue_dev_credentials(
            node, settings.data_dir, args.password, args.users, kek_file=settings.kek_file())))
        print(f"phonghop dev-ca: KHÔNG DÙNG CHO MÔI TRƯỜNG THẬT / NOT FOR PRODUCTION\n"
              f"  CA: {result['ca']}\n  credentials: {len(result['issued'])} "
              f"(password {args.password!r}), in {settings.data_dir / 'dev-ca'}")
        return

    if args.cmd == "bench-seed":
        from phonghop.server.seed import seed_bench

        result = asyncio.run(_with_node(
            settings, lambda node: seed_bench(node, args.delegates, args.items, args.sites)))
        (settings.data_dir / "bench-tokens.json").write_text(json.dumps(result))
        print(json.dumps({"meeting": result["meeting"]}))
        return
    if args.cmd == "demo":
        # Seeding ingests two sample files: one PDF worker is enough (a second would start
        # for the pre-rendering that stopping the seeding node cancels anyway).
        seeding = dataclasses.replace(settings, render_workers=1)
        seeded = asyncio.run(_with_node(seeding, lambda node: _demo(node, settings)))
        url = f"http://{settings.host}:{settings.port}/"
        print(f"phonghop demo: {url}", flush=True)
        if seeded:
            print(f"  meeting #{seeded['meeting']}; password for every login: "
                  f"{seeded['password']}")
        else:
            print("  (demo data already present; password for every login: demo1234)")
        print("  logins: admin (administrator), chutri (chair), thuky (secretary),")
        print("          daibieu01 … daibieu20 (delegates), khach1, khach2 (invitees),")
        print("          diemcau1 … diemcau3 (online site operators)", flush=True)
    else:
        print(f"phonghop: http://{settings.host}:{settings.port}/", flush=True)
        if settings.dev:
            print("  CHẾ ĐỘ PHÁT TRIỂN / DEVELOPMENT MODE (--insecure-dev-http): NOT FOR "
                  "PRODUCTION", flush=True)
        if not settings.trust_files():
            print("  no trust roots (PHONGHOP_TRUST_PEM): signing is refused", flush=True)
    serve(settings)


if __name__ == "__main__":
    main(sys.argv[1:])
