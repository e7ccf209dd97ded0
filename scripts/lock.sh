#!/usr/bin/env bash
# Regenerate requirements.lock: every runtime dependency of pyproject.toml (no test extra),
# pinned with sha256 hashes, resolved for CPython 3.11 on Linux whatever machine runs this.
# Existing pins are kept where they still fit; pass --upgrade (or --upgrade-package NAME) to
# move them. uv resolves for a target interpreter and platform and ignores pip's local
# configuration (extra indexes, find-links), so the lock holds only the public index's files.
set -euo pipefail
cd "$(dirname "$0")/.."

uv_bin=$(command -v uv || true)
if [ -z "$uv_bin" ]; then
  # A private uv, so the lock step never changes the environment the project runs in.
  tools="${XDG_CACHE_HOME:-$HOME/.cache}/phonghop-lock"
  if [ ! -x "$tools/bin/uv" ]; then
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'
  fi
  uv_bin="$tools/bin/uv"
fi

"$uv_bin" pip compile pyproject.toml \
  --quiet \
  --generate-hashes \
  --python-version 3.11 \
  --python-platform x86_64-unknown-linux-gnu \
  --custom-compile-command 'bash scripts/lock.sh' \
  --output-file requirements.lock \
  "$@"
echo "requirements.lock: $(grep -c '^[a-z0-9]' requirements.lock) pinned packages"
