"""Two-step signing for keys held elsewhere (a USB-token agent on the client, a CSC-style
remote service): prepare → sign the digest there → finish."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from pyhanko.sign.signers import SimpleSigner

from phonghop.signing.devca import DevCA
from phonghop.signing.errors import (
    FieldAlreadySigned,
    InvalidSignatureValue,
    OutOfOrder,
    SignerMismatch,
    StaleDocument,
)
from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD
from phonghop.signing.identity import ExpectedSigner
from phonghop.signing.sign import PreparedSignature, finish, prepare
from phonghop.signing.trust import Trust
from phonghop.signing.verify import verify_pdf

from .conftest import User, make_user


def sign_digest(user: User, digest: bytes) -> bytes:
    """What the key holder does with the digest it is sent (the key never comes here)."""
    key = user.credential.key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_prepare_sign_remotely_finish(signed_by_secretary: bytes, chair: User, ca: DevCA,
                                      trust: Trust) -> None:
    state, digest = prepare(signed_by_secretary, CHAIR_FIELD, chair.credential.certificate,
                            chain=[ca.certificate], expected=chair.expected, trust=trust)
    assert digest == hashlib.sha256(state.signed_attrs).digest() and len(digest) == 32
    # the state survives a trip through storage (another request, another process)
    state = PreparedSignature.from_json(state.to_json())
    signed = finish(state, sign_digest(chair, digest), trust=trust,
                    current_pdf=signed_by_secretary)
    report = verify_pdf(signed, trust=trust)
    assert report.all_valid and report.complete, report
    assert report.signatures[1].signer is not None
    assert report.signatures[1].signer.user_id == "chutri"


def test_an_ec_key_signs_the_same_way(minutes_pdf: bytes, ca: DevCA, trust: Trust) -> None:
    cred = ca.issue_user(user_id="thuky2", full_name="Võ Thị Thư Ký", key_type="ec")
    user = make_user(ca, "thuky2", "Võ Thị Thư Ký", credential=cred)
    state, digest = prepare(minutes_pdf, SECRETARY_FIELD, cred.certificate,
                            chain=[ca.certificate], expected=user.expected)
    report = verify_pdf(finish(state, sign_digest(user, digest)), trust=trust)
    assert report.all_valid and report.unsigned_fields == (CHAIR_FIELD,)


def test_a_remote_service_may_return_a_whole_cms(minutes_pdf: bytes, secretary: User,
                                                 ca: DevCA, trust: Trust) -> None:
    state, _ = prepare(minutes_pdf, SECRETARY_FIELD, secretary.credential.certificate,
                       chain=[ca.certificate], expected=secretary.expected)
    service = secretary.signer()  # stands for the remote service holding the key
    assert isinstance(service, SimpleSigner)
    cms = asyncio.run(service.async_sign(state.document_digest, "sha256", use_pades=True))
    report = verify_pdf(finish(state, cms.dump()), trust=trust)
    assert report.all_valid, report


def test_a_wrong_signature_value_writes_nothing(signed_by_secretary: bytes, chair: User,
                                                secretary: User) -> None:
    state, digest = prepare(signed_by_secretary, CHAIR_FIELD, chair.credential.certificate,
                            expected=chair.expected)
    with pytest.raises(InvalidSignatureValue):
        finish(state, sign_digest(secretary, digest))  # signed with another key
    with pytest.raises(InvalidSignatureValue):
        finish(state, sign_digest(chair, hashlib.sha256(b"another document").digest()))


def test_a_cms_over_another_document_is_refused(minutes_pdf: bytes, secretary: User) -> None:
    state, _ = prepare(minutes_pdf, SECRETARY_FIELD, secretary.credential.certificate,
                       expected=secretary.expected)
    cms = asyncio.run(secretary.signer().async_sign(hashlib.sha256(b"x").digest(), "sha256",
                                                    use_pades=True))
    with pytest.raises(InvalidSignatureValue):
        finish(state, cms.dump())


def test_finish_refuses_when_the_document_changed_meanwhile(
        minutes_pdf: bytes, signed_by_secretary: bytes, secretary: User) -> None:
    state, digest = prepare(minutes_pdf, SECRETARY_FIELD, secretary.credential.certificate,
                            expected=secretary.expected)
    with pytest.raises(StaleDocument):
        finish(state, sign_digest(secretary, digest), current_pdf=signed_by_secretary)


def test_prepare_applies_the_same_rules(minutes_pdf: bytes, signed_by_secretary: bytes,
                                        chair: User, secretary: User) -> None:
    with pytest.raises(OutOfOrder):
        prepare(minutes_pdf, CHAIR_FIELD, chair.credential.certificate,
                expected=chair.expected)
    with pytest.raises(FieldAlreadySigned):
        prepare(signed_by_secretary, SECRETARY_FIELD, secretary.credential.certificate,
                expected=secretary.expected)
    with pytest.raises(SignerMismatch):
        prepare(minutes_pdf, SECRETARY_FIELD, chair.credential.certificate,
                expected=ExpectedSigner("thuky", secretary.name))
