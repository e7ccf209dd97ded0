"""Dependencies against a known-vulnerable or substituted library, and an audit that lies.

What each test stops:
- a deployment that installs a version with a published advisory: the floors of pyproject.toml
  refuse every version named below, and the pins deployments install satisfy the floors;
- a wheel swapped on the way to production: requirements.lock pins every runtime dependency,
  the whole tree, with sha256 hashes (`pip install --require-hashes` refuses anything else);
- an audit that passes because it could not ask: scripts/audit.sh says "audit skipped" in one
  line when the advisory service is unreachable, silent or knows nothing, and fails (exit 1)
  when the service names an advisory for a pin.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT, free_port

LOCK = ROOT / "requirements.lock"
AUDIT = ROOT / "scripts" / "audit.sh"
SKIP_LINE = "audit skipped: vulnerability database unreachable ("
# The lock's target (scripts/lock.sh): CPython 3.11 on x86-64 Linux.
TARGET = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.0",
          "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
          "platform_machine": "x86_64", "implementation_name": "cpython",
          "platform_python_implementation": "CPython"}

# Versions with a published advisory that the floors must refuse (advisory, what it allows).
KNOWN_VULNERABLE = [
    ("starlette", "0.49.0", "CVE-2025-62727: quadratic Range header parsing in FileResponse"),
    ("starlette", "1.0.0", "CVE-2026-48710: a malformed Host bypasses path-based checks"),
    ("starlette", "1.3.0", "CVE-2026-54283: form limits ignored for urlencoded bodies"),
    ("orjson", "3.9.14", "CVE-2024-27454: unbounded recursion in loads"),
    ("orjson", "3.11.5", "CVE-2025-67221: unbounded recursion in dumps (patched in 3.11.6)"),
    ("pillow", "10.2.0", "CVE-2024-28219: buffer overflow in _imagingcms"),
    ("pillow", "12.2.0", "CVE-2026-55379 and seven more fixed in 12.3.0"),
    ("cryptography", "48.0.0", "CVE-2026-69248/69249: name constraints, path building"),
    ("cryptography", "49.0.0", "CVE-2026-69247: Bleichenbacher oracle in PKCS#7 decryption"),
    ("pymupdf", "1.26.6", "PYSEC-2026-3001: path traversal"),
    ("pymupdf", "1.27.2.3", "CVE-2026-3308: bundled MuPDF image-stride overflow"),
    ("httptools", "0.6.2", "CVE-2024-27982: bundled llhttp request smuggling"),
]


def runtime_requirements() -> list[Requirement]:
    """The `[project] dependencies` of pyproject.toml (the test extra excluded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def lock_entries() -> dict[str, tuple[Version, list[str]]]:
    """requirements.lock as {canonical name: (pinned version, [hash options])}."""
    text = LOCK.read_text().replace("\\\n", " ")
    entries: dict[str, tuple[Version, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        req = Requirement(requirement)
        (spec,) = req.specifier  # exactly one `==` pin
        assert spec.operator == "==", line
        entries[canonicalize_name(req.name)] = (Version(spec.version), options)
    return entries


def test_the_lock_pins_every_runtime_dependency_with_sha256_hashes() -> None:
    pins = lock_entries()
    for name, (version, options) in pins.items():
        hashes = [o for o in options if o.startswith("--hash=")]
        assert hashes and all(h.startswith("--hash=sha256:") and len(h) == 7 + 7 + 64
                              for h in hashes), f"{name}=={version} lacks sha256 hashes"
        assert len(hashes) == len(options), f"{name}: unexpected options {options}"
    missing = {canonicalize_name(r.name) for r in runtime_requirements()} - pins.keys()
    assert not missing, f"runtime dependencies without a pin: {sorted(missing)}"
    # Deployments install runtime dependencies only: no test tool rides along.
    assert not {"pytest", "playwright", "pip-audit", "ruff", "hypothesis"} & pins.keys()


def test_the_lock_holds_the_whole_tree_each_pin_within_what_requires_it() -> None:
    """Walk pyproject's requirements (extras included) through the installed metadata.

    A package's own requirements are read where the installed version is the pinned one
    (after a fresh install from the lock, all of them).
    """
    pins = lock_entries()
    todo = [(r, "pyproject.toml") for r in runtime_requirements()]
    seen: set[str] = set()
    walked = 0
    while todo:
        req, parent = todo.pop()
        name = canonicalize_name(req.name)
        assert name in pins, f"{name} (required by {parent}) is not in the lock"
        version = pins[name][0]
        assert req.specifier.contains(version, prereleases=True), (
            f"{name}=={version} in the lock, but {parent} requires {req}")
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if Version(dist.version) != version:
            continue  # the installed metadata is of another version: nothing to learn from it
        walked += 1
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({**TARGET, "extra": extra})
                                         for extra in req.extras or {""}):
                todo.append((sub, f"{name}=={version}"))
    assert walked, "no pinned version is installed: nothing to walk"


def test_every_pin_satisfies_the_floors() -> None:
    pins = lock_entries()
    for req in runtime_requirements():
        version = pins[canonicalize_name(req.name)][0]
        assert req.specifier.contains(version), f"lock pins {req.name}=={version}, needs {req}"


@pytest.mark.parametrize(("name", "version", "advisory"), KNOWN_VULNERABLE)
def test_the_floors_refuse_versions_with_a_published_advisory(
        name: str, version: str, advisory: str) -> None:
    (req,) = [r for r in runtime_requirements() if canonicalize_name(r.name) == name]
    assert not req.specifier.contains(version), f"{req} admits {name} {version}: {advisory}"


def test_the_installed_versions_satisfy_the_floors() -> None:
    """The environment the suite runs in is no older than what deployments may install."""
    for req in runtime_requirements():
        installed = importlib.metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), (
            f"installed {req.name} {installed} is outside {req}")


# --- scripts/audit.sh ------------------------------------------------------------------------

def run_audit(tmp_path: Path, lock: Path = LOCK, **env: str) -> subprocess.CompletedProcess[str]:
    """scripts/audit.sh as CI runs it, with no proxy of the machine's and a private cache."""
    base = {k: v for k, v in os.environ.items()
            if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
            and not k.startswith(("PHONGHOP_AUDIT_", "PIP_AUDIT_"))}
    base.update({"XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_PROXY": "127.0.0.1,localhost"})
    return subprocess.run(["bash", str(AUDIT), str(lock)], env={**base, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def assert_skipped(done: subprocess.CompletedProcess[str], reason: str) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(SKIP_LINE), done.stdout + done.stderr
    assert reason in lines[0]
    assert "no known vulnerabilities" not in done.stdout


def test_audit_with_the_advisory_service_unreachable_says_skipped_and_passes(
        tmp_path: Path) -> None:
    # A CI runner without the network: every request goes to a proxy that refuses.
    done = run_audit(tmp_path, HTTPS_PROXY=f"http://127.0.0.1:{free_port()}")
    assert_skipped(done, "Connection refused")
    # The same through the OSV service, pointed at a closed port.
    done = run_audit(tmp_path, PHONGHOP_AUDIT_SERVICE="osv",
                     PIP_AUDIT_OSV_URL=f"http://127.0.0.1:{free_port()}/v1/query")
    assert_skipped(done, "Connection refused")


def test_audit_with_a_silent_advisory_service_stops_at_its_time_limit(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        done = run_audit(tmp_path, PHONGHOP_AUDIT_SERVICE="osv", PHONGHOP_AUDIT_TIMEOUT="3",
                         PIP_AUDIT_OSV_URL=f"http://127.0.0.1:{port}/v1/query")
    assert_skipped(done, "no answer within 3 s")


# The advisory as the OSV service publishes it (GHSA-7f5h-v6xp-fcq8, trimmed).
RANGE_ADVISORY = {
    "id": "GHSA-7f5h-v6xp-fcq8", "aliases": ["CVE-2025-62727", "PYSEC-2026-1942"],
    "summary": "Starlette vulnerable to O(n^2) DoS via Range header merging in FileResponse",
    "published": "2025-10-28T00:00:00Z",
    "affected": [{"package": {"name": "starlette", "ecosystem": "PyPI"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0.39.0"}, {"fixed": "0.49.1"}]}]}],
}


@pytest.fixture(scope="module")
def advisory_service() -> Iterator[str]:
    """A stand-in for the OSV query API on 127.0.0.1 that knows one starlette advisory."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = query["package"]["name"], Version(query["version"])
            hit = name == "starlette" and Version("0.39.0") <= version < Version("0.49.1")
            body = json.dumps({"vulns": [RANGE_ADVISORY]} if hit else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    server.server_close()


def pinned_lock(tmp_path: Path, version: str, sha256: str) -> Path:
    lock = tmp_path / f"starlette-{version}.lock"
    lock.write_text(f"starlette=={version} \\\n    --hash=sha256:{sha256}\n")
    return lock


def test_audit_of_a_lock_pinning_a_vulnerable_version_fails_naming_the_advisory(
        tmp_path: Path, advisory_service: str) -> None:
    lock = pinned_lock(tmp_path, "0.49.0",
                       "6f3988f55dda3fd36e5640aeaceee5b691063e0ebc4d7851e1c3a6695fbdc8ba")
    done = run_audit(tmp_path, lock, PHONGHOP_AUDIT_SERVICE="osv",
                     PIP_AUDIT_OSV_URL=advisory_service)
    assert done.returncode == 1, done.stdout + done.stderr
    (finding,) = [line for line in done.stdout.splitlines() if line.startswith("starlette ")]
    assert finding.startswith("starlette 0.49.0: ")
    assert "GHSA-7f5h-v6xp-fcq8" in finding and "CVE-2025-62727" in finding
    assert finding.endswith("fixed in 0.49.1")
    assert "audit skipped" not in done.stdout


def test_audit_of_a_lock_with_no_advisory_passes_and_says_so(
        tmp_path: Path, advisory_service: str) -> None:
    lock = pinned_lock(tmp_path, "1.3.1",
                       "c7372aae11c3c3f26a42df7bd626cec2f47d03483d261d369516a615a53714c6")
    done = run_audit(tmp_path, lock, PHONGHOP_AUDIT_SERVICE="osv",
                     PIP_AUDIT_OSV_URL=advisory_service)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "audit: 1 pinned packages, no known vulnerabilities"
