"""A SoftHSM2 token for the tests: one per test process, provisioned as a CA's registration
office would (the key pair generated on the token, its certificate stored beside it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass

from phonghop.signing.devca import DevCA

TOKEN_PIN = "246810"
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so",
                   "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class SoftToken:
    module: str
    label: str
    pin: str
    directory: Path

    @property
    def conf(self) -> Path:
        """The SoftHSM2 configuration (SOFTHSM2_CONF) that finds this token."""
        return self.directory / "softhsm2.conf"


def softhsm_module() -> str:
    for path in SOFTHSM_MODULES:
        if os.path.exists(path):
            return path
    raise RuntimeError("SoftHSM2 is missing: scripts/test.sh installs Debian's softhsm2")


def init_token(directory: Path, label: str = "phonghop-test") -> SoftToken:
    """Initialise a fresh token whose files live in `directory`."""
    util = shutil.which("softhsm2-util")
    assert util, "softhsm2-util is missing: scripts/test.sh installs Debian's softhsm2"
    (directory / "tokens").mkdir()
    token = SoftToken(softhsm_module(), label, TOKEN_PIN, directory)
    token.conf.write_text(f"directories.tokendir = {directory / 'tokens'}\n"
                          "objectstore.backend = file\nlog.level = ERROR\n"
                          "slots.removable = false\n")
    subprocess.run([util, "--init-token", "--free", "--label", label, "--so-pin", "13579111",
                    "--pin", TOKEN_PIN], check=True, capture_output=True, timeout=60,
                   env={**os.environ, "SOFTHSM2_CONF": str(token.conf)})
    return token


def put_key(token: SoftToken, ca: DevCA, *, label: str, key_id: bytes, user_id: str,
            full_name: str, position: str = "", unit: str = "") -> x509.Certificate:
    """Generate a key pair on the token and store the certificate `ca` issues for it."""
    with _session(token) as session:
        public, _private = session.generate_keypair(
            KeyType.RSA, 2048, label=label, id=key_id, store=True)
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(public[Attribute.MODULUS], "big"))
        cert = ca.issue_certificate(numbers.public_key(), user_id=user_id, full_name=full_name,
                                    position=position, unit=unit)
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.ID: key_id,
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
        })
    return cert


def remove_key(token: SoftToken, label: str) -> None:
    """Destroy the key pair and certificate stored under `label`."""
    with _session(token) as session:
        for obj in list(session.get_objects({Attribute.LABEL: label})):
            obj.destroy()


def _session(token: SoftToken) -> pkcs11.Session:
    # SoftHSM2 reads SOFTHSM2_CONF once, when this process first loads it: the `soft_token`
    # fixture sets it before anything does.
    lib = pkcs11.lib(token.module)
    return lib.get_token(token_label=token.label).open(rw=True, user_pin=token.pin)
