"""The node's metrics for Prometheus: `/metrics` in the text format, by prometheus-client.

What is counted where it happens is counted once per batch (a commit, a fan-out, a batch of
ballots), never per connection or per event: well under a microsecond on paths that carry
thousands of commands a second. What the node keeps anyway (rooms, connections, the render
queue, worker restarts, bus reconnects) is read when scraped, by a collector, at no cost
in between. No label names a user, a meeting or a document: the metrics never say who did
what.

Off unless configured (docs/DEPLOY.md): with `PHONGHOP_METRICS_ADDRESS` only that address
serves them (a thread of its own, so a scrape never waits for a busy event loop; worker i
of `--workers N` on the address's port + i); else with `PHONGHOP_METRICS_TOKEN`, `/metrics`
on the main port behind `Authorization: Bearer` (the token, compared in constant time, is
also required on the address when both are set).
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import (
    CONTENT_TYPE_LATEST,
    ThreadingWSGIServer,
    generate_latest,
    make_wsgi_app,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from phonghop.rooms.rejections import Rejection
from phonghop.server.http_errors import refuse

if TYPE_CHECKING:
    from phonghop.server.config import Settings
    from phonghop.server.node import Node

MIN_TOKEN = 16  # characters: a token is a secret, not a password anyone types

disable_created_metrics()  # no `_created` series beside every counter: noise to a scraper
# One node per process: the counters and histograms are the process's own.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # memory, CPU time, open file descriptors

COMMANDS = Counter("phonghop_commands", "Room commands decided by this node's room writers "
                   "(acknowledged or refused)", registry=REGISTRY)
ACKS = Counter("phonghop_command_acks", "Room commands acknowledged: committed, or the retry "
               "of a committed one", registry=REGISTRY)
_BALLOTS = Counter("phonghop_ballots", "Ballots answered by this node's ballot boxes",
                   ["outcome"], registry=REGISTRY)
BALLOTS_ACKED = _BALLOTS.labels("acknowledged")  # in the box (a retry's too)
BALLOTS_REFUSED = _BALLOTS.labels("refused")
# An encrypted ballot acknowledged, then taken out: its proofs failed (server/ballot_box.py).
BALLOTS_TAKEN_OUT = _BALLOTS.labels("taken_out")
# A room command this node handed to the room's writer on another node: answered by it, or
# decided here after no answer came (the writer died, the bus failed; server/room_host.py).
_FORWARDED = Counter("phonghop_commands_forwarded", "Room commands handed to the room's "
                     "writer on another node", ["outcome"], registry=REGISTRY)
FORWARDED_ANSWERED = _FORWARDED.labels("by_the_writer")
FORWARDED_DECIDED_HERE = _FORWARDED.labels("decided_here")


def forwarded() -> dict[str, int]:
    """The forwarded commands so far, by answer (for /healthz)."""
    return {outcome: int(REGISTRY.get_sample_value(
        "phonghop_commands_forwarded_total", {"outcome": outcome}) or 0)
        for outcome in ("by_the_writer", "decided_here")}


_COMMIT = Histogram(
    "phonghop_commit_seconds", "One group commit: a batch of room events, or of ballots, "
    "written in one transaction", ["log"], registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
COMMIT_EVENTS = _COMMIT.labels("events")
COMMIT_BALLOTS = _COMMIT.labels("ballots")
FANOUT = Histogram(
    "phonghop_fanout_seconds", "Committed events encoded and written to every local "
    "connection allowed to see them (per commit, or per batch heard on the bus)",
    registry=REGISTRY,
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))


class NodeCollector:
    """What the node knows, read at each scrape (possibly from the metrics thread: only
    lengths and counters are read, never an iteration over a set the loop changes)."""

    def __init__(self, node: Node, version: str) -> None:
        self.node = node
        self.version = version

    def collect(self) -> Iterator[Metric]:
        node = self.node
        info = GaugeMetricFamily("phonghop_info", "This node: version and backends",
                                 labels=["version", "store", "bus", "node"])
        info.add_metric([self.version, node.store.name, node.bus.name, node.id], 1)
        yield info
        yield GaugeMetricFamily("phonghop_rooms", "Rooms this node hosts",
                                value=node.rooms_hosted())
        yield GaugeMetricFamily("phonghop_connections", "Signed-in websockets open on this "
                                "node", value=sum(map(len, list(node.sessions.values()))))
        pool = node.library.pool
        yield GaugeMetricFamily("phonghop_render_queue", "PDF jobs waiting for a worker",
                                value=pool.queued())
        yield GaugeMetricFamily("phonghop_render_workers", "PDF worker processes running",
                                value=len(pool.pids()))
        restarts = CounterMetricFamily(
            "phonghop_render_worker_restarts", "PDF workers killed and replaced, by reason",
            labels=["reason"])
        restarts.add_metric(["timeout"], pool.timeouts)
        restarts.add_metric(["crash"], pool.crashes)
        restarts.add_metric(["memory"], pool.exhausted)
        yield restarts
        yield CounterMetricFamily("phonghop_bus_reconnects", "Times the bus connection "
                                  "(Redis) was lost and made again",
                                  value=getattr(node.bus, "reconnects", 0))
        yield CounterMetricFamily("phonghop_bus_dropped", "Bus messages dropped for a "
                                  "missing or wrong HMAC", value=getattr(node.bus, "dropped", 0))
        yield CounterMetricFamily("phonghop_password_checks_busy", "Sign-ins answered `busy` "
                                  "(the password-hashing queue was full)",
                                  value=node.accounts.hashing.refused)
        yield CounterMetricFamily("phonghop_sockets_refused", "Websockets refused for an "
                                  "account's limit on this node",
                                  value=node.user_limits.refused_sockets)


def metrics_address(settings: Settings) -> tuple[str, int] | None:
    """Where the metrics are served apart (`HOST:PORT`, `[v6]:PORT`), this worker's port
    included; None when not set; ValueError when malformed."""
    text = (settings.metrics_address or "").strip()
    if not text:
        return None
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"PHONGHOP_METRICS_ADDRESS: {text!r} is not HOST:PORT, "
                         "e.g. 127.0.0.1:9108")
    return host, int(port) + settings.worker_index


def metrics_token(settings: Settings) -> bytes | None:
    """The bearer token scrapers send, or None; ValueError when too short to be one."""
    try:
        token = settings.metrics_token()
    except OSError as exc:
        raise ValueError(f"PHONGHOP_METRICS_TOKEN_FILE: {exc.strerror}") from None
    if token is not None and len(token) < MIN_TOKEN:
        raise ValueError(f"PHONGHOP_METRICS_TOKEN: at least {MIN_TOKEN} characters "
                         "(e.g. openssl rand -hex 32)")
    return token


def authorised(header: str | None, token: bytes) -> bool:
    """Whether an `Authorization` header carries the token. Both sides are hashed first,
    so the comparison takes the same time whatever the length or content sent."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(hashlib.sha256(given.strip().encode()).digest(),
                               hashlib.sha256(token).digest())


class Metrics:
    """The metrics of one node, exposed as the settings say (or not at all)."""

    def __init__(self, settings: Settings, node: Node, version: str) -> None:
        self.address = metrics_address(settings)
        self.token = metrics_token(settings)
        self.collector = NodeCollector(node, version)
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._registered = False

    @property
    def enabled(self) -> bool:
        return self.address is not None or self.token is not None

    def routes(self) -> list[Route]:
        """`/metrics` on the main port: only with a token and no address of its own."""
        if self.address is not None or self.token is None:
            return []
        token = self.token

        async def endpoint(request: Request) -> Response:
            if not authorised(request.headers.get("authorization"), token):
                return refuse(Rejection("unauthenticated"), {"WWW-Authenticate": "Bearer"})
            return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST,
                            headers={"Cache-Control": "no-store"})

        return [Route("/metrics", endpoint, methods=["GET"])]

    def start(self) -> None:
        """Count this node in, and serve the separate address if there is one."""
        if not self.enabled:
            return
        REGISTRY.register(self.collector)
        self._registered = True
        if self.address is not None:
            self._server = _server(*self.address, _guarded(make_wsgi_app(REGISTRY),
                                                           self.token))
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            name="phonghop-metrics", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._registered:
            REGISTRY.unregister(self.collector)
            self._registered = False


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _guarded(app: WsgiApp, token: bytes | None) -> WsgiApp:
    """The metrics app on the separate address: `/metrics` only, the token if one is set."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if token is not None and not authorised(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                 ("WWW-Authenticate", "Bearer")])
            return [b"unauthenticated\n"]
        return app(environ, start_response)

    return guarded


class _Quiet(WSGIRequestHandler):
    """No access line per scrape on stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _server(host: str, port: int, app: WsgiApp) -> ThreadingWSGIServer:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(ThreadingWSGIServer):
        address_family = family

    return make_server(host, port, app, Server, handler_class=_Quiet)
