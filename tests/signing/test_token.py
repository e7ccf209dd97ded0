"""Signing with a key that never leaves a PKCS#11 token (SoftHSM2, a token of this test's
own): the key pair is generated on the token, the development CA certifies its public key,
the certificate is stored beside it, and pyHanko signs through the token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography import x509

from phonghop.signing.devca import DevCA
from phonghop.signing.errors import KeyNotFound, TokenNotFound, WrongPin
from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD
from phonghop.signing.identity import ExpectedSigner
from phonghop.signing.sign import sign_field
from phonghop.signing.signers import open_token, signer_certificate
from phonghop.signing.trust import Trust
from phonghop.signing.verify import verify_pdf
from tests.soft_token import SoftToken, put_key, remove_key

KEY_LABEL = "thuky-ky-so"
KEY_ID = b"\x01\x02"
NAME = "Nguyễn Thị Thư Ký"


@pytest.fixture(scope="module")
def token_certificate(soft_token: SoftToken, ca: DevCA) -> Iterator[x509.Certificate]:
    """Provision the token as a CA's registration office would."""
    yield put_key(soft_token, ca, label=KEY_LABEL, key_id=KEY_ID, user_id="thuky",
                  full_name=NAME, position="Chánh Văn phòng HĐND - UBND phường",
                  unit="UBND phường Ba Đình")
    remove_key(soft_token, KEY_LABEL)


def test_sign_with_the_token_then_the_chair(soft_token: SoftToken, token_certificate:
                                            x509.Certificate, minutes_pdf: bytes,
                                            chair, trust: Trust) -> None:  # type: ignore[no-untyped-def]
    with open_token(soft_token.module, pin=soft_token.pin, token_label=soft_token.label,
                    key_label=KEY_LABEL) as signer:
        assert signer_certificate(signer) == token_certificate
        signed = sign_field(minutes_pdf, SECRETARY_FIELD, signer,
                            expected=ExpectedSigner("thuky", NAME), trust=trust)
    both = sign_field(signed, CHAIR_FIELD, chair.signer(), expected=chair.expected,
                      trust=trust)
    report = verify_pdf(both, trust=trust)
    assert report.all_valid, report
    assert report.signatures[0].signer is not None
    assert report.signatures[0].signer.serial == format(token_certificate.serial_number, "x")


def test_the_key_is_found_by_id_too(soft_token: SoftToken, token_certificate:
                                    x509.Certificate) -> None:
    with open_token(soft_token.module, pin=soft_token.pin, key_id=KEY_ID) as signer:
        assert signer_certificate(signer) == token_certificate


def test_a_wrong_pin_is_a_typed_error(soft_token: SoftToken, token_certificate:
                                      x509.Certificate) -> None:
    with pytest.raises(WrongPin) as caught, open_token(
            soft_token.module, pin="000000", token_label=soft_token.label,
            key_label=KEY_LABEL):
        pass
    assert caught.value.code == "wrong_pin"


def test_an_absent_key_or_token_is_a_typed_error(soft_token: SoftToken, token_certificate:
                                                 x509.Certificate) -> None:
    with pytest.raises(KeyNotFound), open_token(
            soft_token.module, pin=soft_token.pin, token_label=soft_token.label,
            key_label="khong-co"):
        pass
    with pytest.raises(TokenNotFound), open_token(
            soft_token.module, pin=soft_token.pin, token_label="token-khac",
            key_label=KEY_LABEL):
        pass
