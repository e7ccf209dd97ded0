"""Server settings: command-line flags first, then PHONGHOP_* environment variables."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"PHONGHOP_{name}", default)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _idle_seconds() -> float:
    """PHONGHOP_SESSION_IDLE_HOURS (default 8); PHONGHOP_SESSION_IDLE_SECONDS wins (tests)."""
    seconds = _env("SESSION_IDLE_SECONDS")
    if seconds:
        return float(seconds)
    return float(_env("SESSION_IDLE_HOURS", "8") or 8) * 3600


@dataclass
class Settings:
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1") or "127.0.0.1")
    port: int = field(default_factory=lambda: int(_env("PORT", "8000") or 8000))
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA", "./phonghop-data") or "."))
    database_url: str | None = field(default_factory=lambda: _env("DATABASE_URL"))
    redis_url: str | None = field(default_factory=lambda: _env("REDIS_URL"))
    workers: int = field(default_factory=lambda: int(_env("WORKERS", "1") or 1))
    # Development mode (`--insecure-dev-http`, PHONGHOP_DEV=1; `phonghop demo` implies it):
    # session cookies without `Secure` (plain HTTP) and the development CA in DATA/dev-ca
    # trusted. Never in production.
    dev: bool = field(default_factory=lambda: _env("DEV", "0") == "1")
    # Sessions: an absolute lifetime, and a sliding idle timeout on top of it.
    session_days: float = field(default_factory=lambda: float(_env("SESSION_DAYS", "14") or 14))
    session_idle_seconds: float = field(default_factory=lambda: _idle_seconds())
    files_dir: Path | None = field(default_factory=lambda: _path(_env("FILES")))
    max_upload_mb: int = field(default_factory=lambda: int(_env("MAX_UPLOAD_MB", "100") or 100))
    render_workers: int = field(
        default_factory=lambda: int(_env("RENDER_WORKERS", "0") or 0) or (os.cpu_count() or 2))
    render_timeout: float = field(
        default_factory=lambda: float(_env("RENDER_TIMEOUT", "10") or 10))
    # A PDF worker without a job for this long retires (they start again with the next job).
    render_idle_seconds: float = field(
        default_factory=lambda: float(_env("RENDER_IDLE_SECONDS", "300") or 300))
    # Seconds to verify the signatures of one PDF (in a PDF worker), and to wait for one.
    verify_timeout: float = field(
        default_factory=lambda: float(_env("VERIFY_TIMEOUT", "30") or 30))
    # Signing: trusted roots (PEM files, ":"-separated; default the development CA in
    # DATA/dev-ca when `phonghop dev-ca` made one), an RFC 3161 time-stamping service, and
    # the PKCS#11 module of a server-side token (e.g. an HSM).
    trust_pem: str | None = field(default_factory=lambda: _env("TRUST_PEM"))
    tsa_url: str | None = field(default_factory=lambda: _env("TSA_URL"))
    pkcs11_module: str | None = field(default_factory=lambda: _env("PKCS11_MODULE"))
    # Wrong PINs in a row after which the server stops trying the token (for the window of
    # server/signing_guard.py): keep it below the token's own lockout count.
    pkcs11_pin_tries: int = field(
        default_factory=lambda: int(_env("PKCS11_PIN_TRIES", "3") or 3))
    # argon2id parameters for new password hashes (server/auth.py PASSWORD_PROFILES).
    password_profile: str = field(
        default_factory=lambda: _env("PASSWORD_PROFILE") or "rfc9106-low-memory")
    # Password checks run on threads of their own, at most this many waiting beyond them
    # (server/password_hashing.py); more answer `busy` at once.
    # Default: half the cores (one on a 2-core box), so that a sign-in flood can never take
    # every core from the event loop and the PDF workers (bench/login_flood.py).
    password_threads: int = field(
        default_factory=lambda: int(_env("PASSWORD_THREADS", "0") or 0)
        or max(1, (os.cpu_count() or 2) // 2))
    password_queue: int = field(default_factory=lambda: int(_env("PASSWORD_QUEUE", "64") or 64))
    # The origins browsers load the web client from (comma-separated, e.g.
    # https://hop.example.gov.vn). Unset: each request's own scheme://Host, which is wrong
    # behind a TLS proxy, so production sets it (docs/DEPLOY.md).
    public_origin: str | None = field(default_factory=lambda: _env("PUBLIC_ORIGIN"))
    # The secret every node of a deployment shares to authenticate bus messages (HMAC):
    # PHONGHOP_BUS_SECRET, or a file holding it (PHONGHOP_BUS_SECRET_FILE).
    bus_secret_value: str | None = field(default_factory=lambda: _env("BUS_SECRET"))
    bus_secret_file: Path | None = field(default_factory=lambda: _path(_env("BUS_SECRET_FILE")))
    # The key-encryption key of stored signing credentials: a file only the service reads
    # (default DATA/secrets/credentials.kek, made on first start).
    credential_kek_file: Path | None = field(
        default_factory=lambda: _path(_env("CREDENTIAL_KEK_FILE")))
    # The key of the access log's hashes of sign-in names that are no account (a file only
    # the service reads; default DATA/secrets/audit.key, made on first start).
    audit_key_file: Path | None = field(
        default_factory=lambda: _path(_env("AUDIT_KEY_FILE")))
    # Load balancers whose X-Forwarded-For is believed (addresses or networks,
    # comma-separated): the sign-in limits count the client behind them, not the balancer.
    trusted_proxies: str | None = field(default_factory=lambda: _env("TRUSTED_PROXIES"))
    # Open websockets one account may hold on one node (tablet, laptop, a reconnect's
    # overlap...), and the room commands it may send a second, bursts up to `command_burst`.
    sockets_per_user: int = field(
        default_factory=lambda: int(_env("SOCKETS_PER_USER", "8") or 8))
    commands_per_second: float = field(
        default_factory=lambda: float(_env("COMMANDS_PER_SECOND", "20") or 20))
    command_burst: float = field(
        default_factory=lambda: float(_env("COMMAND_BURST", "60") or 60))
    # /metrics (server/metrics.py): off unless one of these is set. A bearer token (at
    # least 16 characters) for /metrics on the main port, or a separate address
    # (`HOST:PORT`, e.g. a private interface) that alone serves it.
    metrics_token_value: str | None = field(default_factory=lambda: _env("METRICS_TOKEN"))
    metrics_token_file: Path | None = field(
        default_factory=lambda: _path(_env("METRICS_TOKEN_FILE")))
    metrics_address: str | None = field(default_factory=lambda: _env("METRICS_ADDRESS"))
    # Which of `--workers N` nodes this process is (0 alone): worker i serves its metrics
    # on the metrics address's port + i.
    worker_index: int = field(default_factory=lambda: int(_env("WORKER_INDEX", "0") or 0))
    # The log (server/logs.py): `text` (default) or `json` (one object per line), and the
    # level of phonghop's own loggers (libraries stay at warning: some log payloads).
    log_format: str = field(default_factory=lambda: (_env("LOG_FORMAT") or "text").lower())
    log_level: str = field(default_factory=lambda: (_env("LOG_LEVEL") or "warning").lower())
    max_message_bytes: int = 64 * 1024
    heartbeat_s: float = 20.0

    @property
    def secure_cookies(self) -> bool:
        """Session cookies are `Secure` (HTTPS only) unless in development mode."""
        return not self.dev

    def trust_files(self) -> list[Path]:
        """The PEM files of the trusted roots for signing and verification: PHONGHOP_TRUST_PEM;
        the development CA in DATA/dev-ca only in development mode; else none."""
        if self.trust_pem:
            return [Path(p) for p in self.trust_pem.split(":") if p]
        dev = self.data_dir / "dev-ca" / "ca.pem"
        return [dev] if self.dev and dev.exists() else []

    def public_origins(self) -> tuple[str, ...]:
        """The normalised public origins (empty: each request's own); ValueError if malformed."""
        from phonghop.server.edge import parse_origins

        return parse_origins(self.public_origin)

    def documents_dir(self) -> Path:
        """Where stored files and cached page images live (shared by every node)."""
        return self.files_dir or self.data_dir / "documents"

    def bus_namespace(self) -> str:
        """Channel prefix shared by the nodes of one deployment: derived from its database."""
        explicit = _env("BUS_NAMESPACE")
        if explicit:
            return explicit
        return "phonghop-" + hashlib.sha256(self.store_url().encode()).hexdigest()[:10]

    def bus_secret(self) -> bytes | None:
        """The bus secret (from the setting, else its file), or None when there is none."""
        if self.bus_secret_value:
            return self.bus_secret_value.encode()
        if self.bus_secret_file is not None:
            secret = self.bus_secret_file.read_bytes().strip()
            return secret or None
        return None

    def metrics_token(self) -> bytes | None:
        """The /metrics bearer token (the setting, else its file), or None."""
        if self.metrics_token_value:
            return self.metrics_token_value.encode()
        if self.metrics_token_file is not None:
            return self.metrics_token_file.read_bytes().strip() or None
        return None

    def kek_file(self) -> Path:
        """Where the key-encryption key of stored signing credentials lives."""
        return self.credential_kek_file or self.data_dir / "secrets" / "credentials.kek"

    def audit_key_path(self) -> Path:
        """Where the access log's name key lives (the same file on every node)."""
        return self.audit_key_file or self.data_dir / "secrets" / "audit.key"

    def store_url(self) -> str:
        from phonghop.store import sqlite_url

        return self.database_url or sqlite_url(self.data_dir)
