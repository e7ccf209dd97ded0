"""Drives static/secret_ballot.js from Python tests: one `node` process running oracle.mjs,
one JSON request per line and one JSON answer per line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[4]
ORACLE = Path(__file__).resolve().parent / "oracle.mjs"
NODE = shutil.which("node") or "node"


class JsRefused(Exception):
    """The JavaScript side refused a request with a BallotCryptoError code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class JsOracle:
    """A running oracle.mjs; `call(op, **args)` answers its result or raises JsRefused."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [NODE, str(ORACLE)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8",
        )

    def call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, **args}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"oracle.mjs exited ({self.proc.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            if answer["error"] == "exception":
                raise RuntimeError(answer["message"])
            raise JsRefused(answer["error"], answer.get("message", ""))
        return answer["ok"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
