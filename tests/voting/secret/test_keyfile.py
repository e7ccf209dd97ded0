"""A board member's key file: what one side seals the other opens, and nothing else opens
it (a wrong passphrase, another poll or member, a changed byte, a weakened KDF)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from phonghop.voting.secret.group import Scalar
from phonghop.voting.secret.keyfile import KeyFileError, open_key, seal_key

HARNESS = Path(__file__).resolve().parent / "js" / "keyfile.mjs"
NODE = shutil.which("node")
PASSPHRASE = "Mật khẩu ban kiểm phiếu 2026"
SECRETS = {"transport_secret": Scalar(7).hex(), "coefficients": [Scalar(11).hex(),
                                                                  Scalar(13).hex()],
           "share": Scalar(17).hex()}


def js(op: str, **args: Any) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run([NODE, str(HARNESS)], input=json.dumps({"op": op, **args}),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_a_python_file_opens_only_with_its_passphrase() -> None:
    doc = seal_key(SECRETS, "7/3/abcd", 2, PASSPHRASE)
    assert open_key(doc, PASSPHRASE) == SECRETS
    assert PASSPHRASE not in json.dumps(doc) and SECRETS["share"] not in json.dumps(doc)
    with pytest.raises(KeyFileError) as wrong:
        open_key(doc, PASSPHRASE + "!")
    assert wrong.value.code == "wrong_passphrase"
    # passed off as another member's or another poll's: the associated data differs
    for changed in ({**doc, "index": 3}, {**doc, "poll_uid": "7/4/abcd"},
                    {**doc, "box": ("0" if doc["box"][0] != "0" else "1") + doc["box"][1:]}):
        with pytest.raises(KeyFileError) as refused:
            open_key(changed, PASSPHRASE)
        assert refused.value.code == "wrong_passphrase"
    # a file whose KDF was weakened to make guessing cheap is refused before any guess
    weak = {**doc, "kdf": {**doc["kdf"], "iterations": 1000}}
    with pytest.raises(KeyFileError) as refused:
        open_key(weak, PASSPHRASE)
    assert refused.value.code == "malformed"
    with pytest.raises(KeyFileError) as short:
        seal_key(SECRETS, "7/3/abcd", 2, "ngắn")
    assert short.value.code == "weak_passphrase"
    with pytest.raises(KeyFileError):
        seal_key({**SECRETS, "share": "zz"}, "7/3/abcd", 2, PASSPHRASE)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_browser_and_python_open_each_others_files() -> None:
    from_python = seal_key(SECRETS, "7/3/abcd", 2, PASSPHRASE)
    assert js("open", doc=from_python, passphrase=PASSPHRASE) == {"ok": SECRETS}
    assert js("open", doc=from_python, passphrase="sai mật khẩu rồi") == {
        "error": "wrong_passphrase"}
    # the same passphrase in another Unicode form opens it too (NFC on both sides)
    import unicodedata

    decomposed = unicodedata.normalize("NFD", PASSPHRASE)
    assert decomposed != PASSPHRASE
    assert js("open", doc=from_python, passphrase=decomposed) == {"ok": SECRETS}
    from_js = js("seal", secrets=SECRETS, poll_uid="7/3/abcd", index=2,
                 passphrase=PASSPHRASE)["ok"]
    assert open_key(from_js, PASSPHRASE) == SECRETS
    assert from_js["kdf"]["iterations"] >= 600_000
    assert js("open", doc={**from_js, "index": 1}, passphrase=PASSPHRASE) == {
        "error": "wrong_passphrase"}
    assert js("seal", secrets=SECRETS, poll_uid="7/3/abcd", index=2,
              passphrase="ngắn") == {"error": "weak_passphrase"}
