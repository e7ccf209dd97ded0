"""Real parts for the signing tests: a development CA, users' .p12 files, a time-stamping
service over HTTP, a SoftHSM2 token, and the minutes rendered once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing.devca import Credential, DevCA
from signing.fields import CHAIR_FIELD, SECRETARY_FIELD
from signing.identity import ExpectedSigner
from signing.layout import render_minutes
from signing.sample import CHAIR, SECRETARY, sample_minutes
from signing.sign import sign_field
from signing.signers import FileSigner, load_pkcs12
from signing.trust import Trust
from signing.tsa_dev import DevTimeStampAuthority

UNIT = "UBND phường Ba Đình"
P12_PASSWORD = "mật-khẩu-2026"
TOKEN_PIN = "246810"
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so",
                   "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class User:
    """A person with a development certificate in a password-protected .p12."""

    user_id: str
    name: str
    credential: Credential
    p12: bytes

    @property
    def expected(self) -> ExpectedSigner:
        return ExpectedSigner(self.user_id, self.name)

    def signer(self) -> FileSigner:
        return load_pkcs12(self.p12, P12_PASSWORD)


def make_user(ca: DevCA, user_id: str, name: str, position: str = "",
              credential: Credential | None = None) -> User:
    cred = credential or ca.issue_user(user_id=user_id, full_name=name, position=position,
                                       unit=UNIT)
    return User(user_id, name, cred, cred.to_p12(P12_PASSWORD))


@pytest.fixture(scope="session")
def ca() -> DevCA:
    return DevCA.create()


@pytest.fixture(scope="session")
def trust(ca: DevCA) -> Trust:
    return Trust.of([ca.certificate])


@pytest.fixture(scope="session")
def secretary(ca: DevCA) -> User:
    return make_user(ca, "thuky", SECRETARY.name, SECRETARY.position)


@pytest.fixture(scope="session")
def chair(ca: DevCA) -> User:
    return make_user(ca, "chutri", CHAIR.name, CHAIR.position)


@pytest.fixture(scope="session")
def minutes_pdf() -> bytes:
    """The short sample minutes, unsigned (two empty fields)."""
    return render_minutes(sample_minutes())


@pytest.fixture(scope="session")
def signed_by_secretary(minutes_pdf: bytes, secretary: User, trust: Trust) -> bytes:
    return sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(),
                      expected=secretary.expected, trust=trust)


@pytest.fixture(scope="session")
def signed_by_both(signed_by_secretary: bytes, chair: User, trust: Trust) -> bytes:
    return sign_field(signed_by_secretary, CHAIR_FIELD, chair.signer(),
                      expected=chair.expected, trust=trust)


@pytest.fixture(scope="session")
def tsa(ca: DevCA) -> Iterator[DevTimeStampAuthority]:
    """The development time-stamping service, listening on 127.0.0.1."""
    with DevTimeStampAuthority(ca.issue_tsa()) as authority:
        yield authority


# ------------------------------------------------------------------------------ SoftHSM2


@dataclass(frozen=True)
class SoftToken:
    module: str
    label: str
    pin: str
    directory: Path


def softhsm_module() -> str:
    for path in SOFTHSM_MODULES:
        if os.path.exists(path):
            return path
    raise RuntimeError("SoftHSM2 is missing: scripts/test.sh installs Debian's softhsm2")


@pytest.fixture(scope="session")
def soft_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftToken]:
    """A fresh SoftHSM2 token in a temporary directory (SOFTHSM2_CONF points there for
    this whole test process: the PKCS#11 library reads it once, when first loaded)."""
    module = softhsm_module()
    util = shutil.which("softhsm2-util")
    assert util, "softhsm2-util is missing: scripts/test.sh installs Debian's softhsm2"
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\n"
                    "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run([util, "--init-token", "--free", "--label", "phonghop-test",
                    "--so-pin", "13579111", "--pin", TOKEN_PIN],
                   check=True, capture_output=True, env=os.environ.copy(), timeout=60)
    yield SoftToken(module, "phonghop-test", TOKEN_PIN, directory)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous
