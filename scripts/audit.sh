#!/usr/bin/env bash
# Check what deployments install (the hashed pins of requirements.lock, not this environment)
# against the published advisories, with pip-audit. Usage: scripts/audit.sh [LOCKFILE]
#   exit 0  no known vulnerability; or the advisory service could not be asked, said in one
#           line starting "audit skipped: vulnerability database unreachable"
#   exit 1  advisories found: each one listed with its fixed versions
#   exit 2  pip-audit is missing or failed for another reason (a malformed lock, ...)
# PHONGHOP_AUDIT_TIMEOUT bounds the whole run (seconds, default 60); PHONGHOP_AUDIT_SERVICE
# picks the database (pypi, the default, or osv; pip-audit reads PIP_AUDIT_OSV_URL).
set -uo pipefail
cd "$(dirname "$0")/.."

lock="${1:-requirements.lock}"
limit="${PHONGHOP_AUDIT_TIMEOUT:-60}"
service="${PHONGHOP_AUDIT_SERVICE:-pypi}"
if ! python3 -c 'import pip_audit' 2>/dev/null; then
  echo "audit: pip-audit is not installed (pip install -e '.[test]', or pip install pip-audit)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# --disable-pip --require-hashes: read the pins as they are, resolve and install nothing.
timeout --kill-after=5 "$limit" python3 -m pip_audit \
  --disable-pip --require-hashes --requirement "$lock" \
  --vulnerability-service "$service" --timeout 10 \
  --format json --output "$work/report.json" --progress-spinner off --desc off \
  >"$work/log" 2>&1
status=$?

python3 - "$status" "$work/report.json" "$work/log" "$lock" "$limit" <<'EOF'
"""Turn pip-audit's exit status, JSON report and log into one verdict and an exit code."""

import json
import re
import sys
from pathlib import Path

status, report_path, log_path, lock, limit = sys.argv[1:]
log = Path(log_path).read_text(errors="replace")
report = Path(report_path)
SKIP = "audit skipped: vulnerability database unreachable"

if status in ("124", "137"):
    print(f"{SKIP} (no answer within {limit} s)")
    sys.exit(0)

if report.is_file() and report.stat().st_size:
    deps = json.loads(report.read_text())["dependencies"]
    found = [(d, v) for d in deps for v in d.get("vulns", [])]
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    if found:
        for dep, vuln in found:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            aliases = ", ".join(vuln.get("aliases", []))
            also = f" ({aliases})" if aliases else ""
            print(f"{dep['name']} {dep['version']}: {vuln['id']}{also}, fixed in {fixed}")
        names = {dep["name"] for dep, _ in found}
        print(
            f"audit: {len(found)} known vulnerabilities in {len(names)} of the {len(deps)} "
            f"packages pinned by {lock}: raise the floor in pyproject.toml and run "
            f"scripts/lock.sh --upgrade-package NAME"
        )
        sys.exit(1)
    if deps and len(skipped) == len(deps):
        # A service (or a mirror standing in for it) that knows none of the pins has told us
        # nothing: that is not a clean audit.
        print(f"{SKIP} (no advisory data for any of the {len(deps)} pinned packages)")
        sys.exit(0)
    if skipped:
        print(f"audit: not in the advisory database, so unchecked: {', '.join(skipped)}")
    print(f"audit: {len(deps) - len(skipped)} pinned packages, no known vulnerabilities")
    sys.exit(0)

# No report: pip-audit stopped on its first failed request, or on something else entirely.
network = re.findall(
    r"(ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|SSLError|NameResolutionError"
    r"|ServiceError|HTTPError|Could not connect)",
    log,
)
if network:
    cause = re.findall(
        r"(\[Errno -?\d+\] [^'\")]+|Name or service not known|Temporary failure in name "
        r"resolution|timed out|certificate verify failed|\d{3} \w[\w ]*Error)",
        log,
    )
    detail = f"{network[-1]}: {cause[-1]}" if cause else network[-1]
    print(f"{SKIP} ({detail.strip()})")
    sys.exit(0)
print(f"audit: pip-audit failed (exit {status}):", file=sys.stderr)
print("\n".join(log.strip().splitlines()[-15:]), file=sys.stderr)
sys.exit(2)
EOF
