"""Real parts for the signing tests: a development CA, users' .p12 files, a time-stamping
service over HTTP, a SoftHSM2 token, and the minutes rendered once per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from phonghop.signing.devca import Credential, DevCA
from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD
from phonghop.signing.identity import ExpectedSigner
from phonghop.signing.layout import render_minutes
from phonghop.signing.sample import CHAIR, SECRETARY, sample_minutes
from phonghop.signing.sign import sign_field
from phonghop.signing.signers import FileSigner, load_pkcs12
from phonghop.signing.trust import Trust
from phonghop.signing.tsa_dev import DevTimeStampAuthority

UNIT = "UBND phường Ba Đình"
P12_PASSWORD = "mật-khẩu-2026"


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
