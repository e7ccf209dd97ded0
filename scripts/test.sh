#!/usr/bin/env bash
# Install what the tests need, then run the whole suite. Used by the README and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive: Chromium for the browser tests (Playwright never downloads
# its own browser), SoftHSM2 (a PKCS#11 token), poppler's pdfsig and NSS's certutil (pdfsig
# trusting the development CA) for the signing tests; pg_dump and pg_restore for the backup
# round trip on PostgreSQL; libsodium, which pysodium loads at import (secret ballots, a
# runtime requirement too); libdecaf0, the faster ballot verifier (voting/secret/decaf.py,
# optional at run time: its tests check it against libsodium). grep without -q reads all of ldconfig's
# output: with pipefail, -q could make ldconfig die of SIGPIPE and the check fail.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
command -v pdfsig >/dev/null 2>&1 || missing+=(poppler-utils)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep libsodium >/dev/null \
  || missing+=(libsodium23)
{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep libdecaf >/dev/null \
  || missing+=(libdecaf0)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]} (root needed to install them)" >&2
    exit 1
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
python3 -m ruff check .
# The advisories against what deployments install (requirements.lock): one "audit skipped" line
# when the advisory service cannot be reached, a failure on a finding. It waits on the
# network most of its time (up to a minute), so it runs beside the tests; its verdict is
# printed after them and fails the run as before.
audit_log=$(mktemp)
trap 'rm -f "$audit_log"' EXIT
bash scripts/audit.sh >"$audit_log" 2>&1 &
audit=$!

# Three processes (pytest-xdist) on two cores: much of a run waits on servers, browsers
# and timeouts (two workers kept 1.2 of the 2 cores busy), so more workers overlap the waits
# of one with the work of the others (docs/PERFORMANCE.md, "The test suite"); each worker
# starts its own shared servers and Chromium. Whole files go to one worker (loadfile), so a
# module's shared server starts once, not once per worker.
set +e
python3 -m pytest -n "${PHONGHOP_TEST_WORKERS:-3}" --dist loadfile "$@"
status=$?
wait "$audit"
audit_status=$?
set -e
cat "$audit_log"
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: the suite is broken" >&2
  exit 1
fi
if [ "$audit_status" -ne 0 ] && [ "$status" -eq 0 ]; then
  echo "the dependency audit failed (scripts/audit.sh, exit $audit_status)" >&2
  exit "$audit_status"
fi
exit "$status"
