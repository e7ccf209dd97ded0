"""The `phonghop` command: serve, demo, and seeding for benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from pathlib import Path

import uvicorn

from server.app import create_app
from server.config import Settings
from server.node import Node
from server.wire import WireProtocol
from store.sql import SqlStore


def _common(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--data", type=Path, default=defaults.data_dir,
                        help="directory for the SQLite database and files")
    parser.add_argument("--database", default=defaults.database_url,
                        help="database URL (default: SQLite in --data)")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(host=args.host, port=args.port, data_dir=args.data,
                    database_url=args.database)


def serve(settings: Settings) -> None:
    """Run the server in the foreground until interrupted."""
    _raise_fd_limit()
    config = uvicorn.Config(
        create_app(settings), host=settings.host, port=settings.port,
        ws=WireProtocol, http="httptools", ws_max_size=settings.max_message_bytes,
        ws_ping_interval=settings.heartbeat_s, ws_ping_timeout=settings.heartbeat_s,
        ws_per_message_deflate=False, backlog=8192, log_level="warning",
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()


def _raise_fd_limit() -> None:
    # Every websocket is a file descriptor; a large conference needs thousands.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _with_node(settings: Settings, work):  # type: ignore[no-untyped-def]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from bus.local import LocalBus

    node = Node(SqlStore(settings.store_url()), LocalBus())
    await node.start()
    try:
        return await work(node)
    finally:
        await node.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="phonghop", description="Paperless meeting server")
    sub = parser.add_subparsers(dest="cmd", required=True)
    _common(sub.add_parser("serve", help="run the server"))
    _common(sub.add_parser("demo", help="seed a demo organisation and run the server"))
    bench = sub.add_parser("bench-seed", help="seed a large meeting for benchmarks")
    _common(bench)
    bench.add_argument("--delegates", type=int, default=1000)
    bench.add_argument("--items", type=int, default=1000)
    args = parser.parse_args(argv)
    settings = _settings(args)

    if args.cmd == "bench-seed":
        from server.seed import seed_bench

        result = asyncio.run(_with_node(
            settings, lambda node: seed_bench(node, args.delegates, args.items)))
        (settings.data_dir / "bench-tokens.json").write_text(json.dumps(result))
        print(json.dumps({"meeting": result["meeting"]}))
        return
    if args.cmd == "demo":
        from server.seed import seed_demo

        seeded = asyncio.run(_with_node(settings, seed_demo))
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
    serve(settings)


if __name__ == "__main__":
    main(sys.argv[1:])
