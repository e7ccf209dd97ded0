"""The web edge: which browser requests may change state, and the headers on every answer.

A browser attaches the session cookie to requests that other pages start: a form on
another site, or a page on another port of the same site (same *site*, so `SameSite=Lax`
does not stop it). Such a page can send a "simple" cross-origin request without asking
the server first: a form post (urlencoded, multipart or `text/plain`) or a `fetch` with one
of those content types. It cannot send `Content-Type: application/json` or a custom header
without a CORS preflight, which phonghop never grants. So a cookie-authenticated state
change needs both:

- proof that a page of ours built it: the media type exactly `application/json`, or the
  header `X-Phonghop-Request` (what the web client sends on uploads and bodiless posts);
- the browser's word that it came from our origin: `Origin` among the public origins, or,
  with no `Origin`, `Sec-Fetch-Site: same-origin` (or `none`, typed by the user).

`Authorization: Bearer` requests carry no ambient credential (and a cross-origin page
cannot add that header without a preflight), so devices and API clients are exempt. The
websocket has no preflight at all: `/ws` checks the same origin rule before accepting,
unless the token travels in the `bearer` subprotocol.

Pure ASGI (no BaseHTTPMiddleware): a state change costs one pass over the request
headers; every other request costs one header list concatenation.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phonghop.rooms.rejections import Rejection
from phonghop.server.http_errors import refuse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REQUEST_HEADER = "X-Phonghop-Request"  # the web client's marker; its value is "1"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WS_SCHEMES = {"ws": "http", "wss": "https"}
_TRUSTED_SITES = (b"same-origin", b"none")


def normalise_origin(text: str) -> str | None:
    """`scheme://host[:port]` as browsers serialise an Origin (lower case, default port
    dropped), or None for anything that is not an http(s) origin (e.g. "null")."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origins(value: str | None) -> tuple[str, ...]:
    """The comma-separated PHONGHOP_PUBLIC_ORIGIN, normalised; ValueError names a bad one."""
    origins = []
    for item in (value or "").split(","):
        if not item.strip():
            continue
        origin = normalise_origin(item)
        if origin is None:
            raise ValueError(f"PHONGHOP_PUBLIC_ORIGIN: {item.strip()!r} is not an origin "
                             "like https://hop.example.gov.vn")
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


def security_headers(origins: Iterable[str]) -> list[tuple[bytes, bytes]]:
    """The headers every HTTP answer carries (HSTS only when every public origin is https)."""
    origins = tuple(origins)
    # 'self' covers ws/wss of our own host in CSP 3; the public origins' wss form is
    # listed too, for browsers that predate that rule.
    sockets = " ".join(o.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
                       for o in origins)
    csp = "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        f"connect-src 'self' {sockets}".strip(),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    }
    if origins and all(o.startswith("https://") for o in origins):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


class Edge:
    """The origin rule for one deployment: its public origins, or each request's own."""

    def __init__(self, origins: Iterable[str] = ()) -> None:
        self.origins = frozenset(origins)

    def _own_origin(self, scope: Scope, host: bytes | None) -> frozenset[str]:
        if self.origins:
            return self.origins
        if not host:
            return frozenset()
        scheme = _WS_SCHEMES.get(scope["scheme"], scope["scheme"])
        own = _origin_of(scheme.encode() + b"://" + host)
        return frozenset((own,)) if own else frozenset()

    def http_refusal(self, scope: Scope) -> str | None:
        """The refusal code for a state-changing HTTP request, or None to let it through."""
        h = _headers(scope)
        if _is_bearer(h.get(b"authorization")):
            return None
        cookie = b"cookie" in h
        code = self._origin_refusal(scope, h, cookie)
        if code is None and cookie and not _built_by_us(h):
            code = "content_type"
        return code

    def websocket_refusal(self, scope: Scope) -> str | None:
        """The refusal code for a websocket handshake, or None to accept it. A token in
        the `bearer` subprotocol is exempt: ws.py then never reads the cookie."""
        h = _headers(scope)
        protocols = [p.strip() for p in h.get(b"sec-websocket-protocol", b"").split(b",")]
        if len(protocols) == 2 and protocols[0] == b"bearer":
            return None
        return self._origin_refusal(scope, h, b"cookie" in h)

    def _origin_refusal(self, scope: Scope, h: dict[bytes, bytes], cookie: bool) -> str | None:
        origin = h.get(b"origin")
        if origin is not None:
            ok = _origin_of(origin) in self._own_origin(scope, h.get(b"host"))
            return None if ok else "cross_origin"
        site = h.get(b"sec-fetch-site")
        if site is not None:
            return None if site.strip().lower() in _TRUSTED_SITES else "cross_origin"
        # Neither header: not a current browser. Without a cookie there is no ambient
        # credential to abuse (e.g. a script signing in); with one, we cannot tell.
        return "cross_origin" if cookie else None


class EdgeMiddleware:
    """Refuses cross-origin state changes and adds the security headers to every answer."""

    def __init__(self, app: ASGIApp, origins: Iterable[str] = ()) -> None:
        self.app = app
        self.edge = Edge(origins)
        self.headers = security_headers(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        if scope["method"] not in SAFE_METHODS:
            code = self.edge.http_refusal(scope)
            if code is not None:
                # Answered before the body is read: a refused upload is never received.
                await refuse(Rejection(code))(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request headers this module reads; a repeated one counts as missing proof
    (`content-type`) or a foreign origin (`origin`), never as the friendlier copy."""
    wanted = (b"authorization", b"cookie", b"origin", b"sec-fetch-site", b"host",
              b"content-type", b"x-phonghop-request", b"sec-websocket-protocol")
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            if name in found and name != b"cookie":
                value = b"\x00repeated"
            found[name] = value
    return found


@lru_cache(maxsize=1024)
def _origin_of(raw: bytes) -> str | None:
    """normalise_origin of a header value; a deployment sees a handful of distinct ones."""
    return normalise_origin(raw.decode("latin-1"))


def _is_bearer(value: bytes | None) -> bool:
    return value is not None and value[:7].lower() == b"bearer " and bool(value[7:].strip())


def _built_by_us(h: dict[bytes, bytes]) -> bool:
    """The request carries what only a page of our own origin can send without a preflight:
    an exact JSON media type (parameters such as charset aside) or the custom header."""
    if h.get(b"x-phonghop-request", b"").strip() not in (b"", b"\x00repeated"):
        return True
    media = h.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    return media == b"application/json"
