"""The ASGI application: routes, static files and the node's lifespan."""

from __future__ import annotations

import contextlib
import gc
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from phonghop.bus.base import Bus
from phonghop.bus.local import LocalBus
from phonghop.bus.redis import RedisBus
from phonghop.documents.library import Library, Limits
from phonghop.documents.pool import WorkerPool
from phonghop.server.api import ENDPOINTS, Endpoint
from phonghop.server.audit import load_key
from phonghop.server.audit_api import ENDPOINTS as AUDIT_ENDPOINTS
from phonghop.server.auth import use_password_profile
from phonghop.server.client_address import parse_proxies
from phonghop.server.config import Settings
from phonghop.server.credential_vault import CredentialVault, FileKeyWrap
from phonghop.server.documents_api import ENDPOINTS as DOCUMENT_ENDPOINTS
from phonghop.server.edge import Edge, EdgeMiddleware
from phonghop.server.http_errors import JSONResponse, Refused, refuse
from phonghop.server.log_head import LogHeads
from phonghop.server.login_limits import RedisLimits
from phonghop.server.metrics import Metrics
from phonghop.server.minutes_api import ENDPOINTS as MINUTES_ENDPOINTS
from phonghop.server.node import Node
from phonghop.server.openapi import openapi
from phonghop.server.password_hashing import PasswordHashing
from phonghop.server.polls_api import ENDPOINTS as POLL_ENDPOINTS
from phonghop.server.request_ids import RequestIds
from phonghop.server.user_limits import UserLimits
from phonghop.server.ws import websocket_endpoint
from phonghop.store.sql import SqlStore

STATIC = Path(__file__).resolve().parent.parent / "static"
VERSION = "0.1.0"


def create_app(settings: Settings, bus: Bus | None = None) -> Starlette:
    """The phonghop app for `settings` (embedded SQLite and local bus by default)."""
    origins = settings.public_origins()  # a malformed PHONGHOP_PUBLIC_ORIGIN stops here
    proxies = parse_proxies(settings.trusted_proxies)  # and so does a malformed proxy list
    node = make_node(settings, bus)
    metrics = Metrics(settings, node, VERSION)  # off unless configured; ValueError if malformed
    vault = CredentialVault(node.store, FileKeyWrap.load_or_create(settings.kek_file()))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await node.start()
        await vault.seal_stored()  # credentials an older version stored unsealed
        # Everything loaded so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise stall the loop for 100+ ms at scale.
        gc.collect()
        gc.freeze()
        # Thousands of connections keep many objects alive: collect the young generation
        # less often (its cost is per collection, not per object), which keeps bursts of
        # ballots or page turns from spending a quarter of the loop in the collector.
        gc.set_threshold(50_000, 20, 100)
        try:
            metrics.start()
            yield
        finally:
            metrics.stop()
            await node.stop()

    # Routes are tried in order: the documents' first, page images leading, because page
    # images are by far the most frequent request during a meeting.
    endpoints = [*DOCUMENT_ENDPOINTS, *ENDPOINTS, *POLL_ENDPOINTS, *MINUTES_ENDPOINTS,
                 *AUDIT_ENDPOINTS]
    spec = openapi(endpoints, VERSION)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(spec)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    routes: list[Any] = [*_routes(endpoints)]
    routes += [
        Route("/openapi.json", openapi_json),
        *metrics.routes(),
        WebSocketRoute("/ws", websocket_endpoint),
        Route("/", index),
        Mount("/static", RevalidatedStaticFiles(directory=STATIC), name="static"),
    ]
    # The web edge (server/edge.py) sees every request first: cross-origin state changes
    # are refused before any handler or body read, and every answer gets the CSP & co.
    # Before that, each request and websocket gets its id for the log (server/request_ids.py).
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(RequestIds),
                                Middleware(EdgeMiddleware, origins=origins)])
    app.state.node = node
    app.state.settings = settings
    app.state.edge = Edge(origins)
    app.state.trusted_proxies = proxies
    app.state.credential_vault = vault
    return app


def make_node(settings: Settings, bus: Bus | None = None) -> Node:
    """A node for `settings`: its store, bus and document library (not started yet)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    use_password_profile(settings.password_profile)
    if bus is None:
        bus = (RedisBus(settings.redis_url, settings.bus_namespace(),
                        secret=required_bus_secret(settings)) if settings.redis_url
               else LocalBus())
    limits = Limits(max_bytes=settings.max_upload_mb * 1024 * 1024,
                    render_timeout=settings.render_timeout)
    pool = WorkerPool(settings.render_workers, idle_seconds=settings.render_idle_seconds)
    library = Library(settings.documents_dir(), pool, limits)
    node = Node(SqlStore(settings.store_url()), bus, library)
    node.log_heads = LogHeads(node.store, settings.tsa_url, tuple(settings.trust_files()))
    node.audit.key = load_key(settings.audit_key_path())
    node.accounts.hashing = PasswordHashing(settings.password_threads, settings.password_queue)
    node.user_limits = UserLimits(settings.sockets_per_user, settings.commands_per_second,
                                  settings.command_burst)
    if settings.redis_url:  # every node shares the sign-in limits
        node.accounts.limits = RedisLimits(settings.redis_url, settings.bus_namespace())
    node.accounts.configure(timedelta(days=settings.session_days),
                            timedelta(seconds=settings.session_idle_seconds))
    return node


def required_bus_secret(settings: Settings) -> bytes:
    """The deployment's bus secret, or exit with a one-line reason (no node runs without it)."""
    try:
        secret = settings.bus_secret()
    except OSError as exc:
        raise SystemExit(f"phonghop: PHONGHOP_BUS_SECRET_FILE: {exc.strerror}") from None
    if secret is None or len(secret) < 16:
        raise SystemExit("phonghop: --redis needs a bus secret of at least 16 characters, "
                         "the same on every node (PHONGHOP_BUS_SECRET or "
                         "PHONGHOP_BUS_SECRET_FILE)")
    return secret


class RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers cache but re-check (a cheap 304), so upgrades show at once."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def _routes(endpoints: list[Endpoint]) -> list[Route]:
    by_path: defaultdict[str, dict[str, Endpoint]] = defaultdict(dict)
    for ep in endpoints:
        by_path[ep.path][ep.method] = ep
    return [Route(path, _dispatch(methods), methods=list(methods)) for path, methods in
            by_path.items()]


def _dispatch(methods: dict[str, Endpoint]):
    async def endpoint(request: Request) -> Response:
        try:
            response = await methods[request.method].handler(request)
        except Refused as refused:
            return refuse(refused.rejection, refused.headers)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return endpoint
