"""The development CA: what its certificates say, .p12 files, validity, TSA, CRL."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from phonghop.signing.devca import NOT_FOR_PRODUCTION, DevCA
from phonghop.signing.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    CertificateUntrusted,
    InvalidKeyFile,
    WrongPassword,
)
from phonghop.signing.identity import SignerIdentity, check_validity
from phonghop.signing.signers import load_pkcs12, signer_certificate, signer_chain
from phonghop.signing.trust import Trust

from .conftest import P12_PASSWORD, UNIT, User


def test_the_ca_says_it_is_not_for_production(ca: DevCA) -> None:
    subject = ca.certificate.subject.rfc4514_string()
    assert "phonghop DEV CA" in subject
    assert "KHÔNG DÙNG CHO MÔI TRƯỜNG THẬT / NOT FOR PRODUCTION" in subject
    assert NOT_FOR_PRODUCTION in subject
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_user_certificate_names_the_person_position_unit_and_user_id(secretary: User) -> None:
    cert = secretary.credential.certificate
    attr = cert.subject.get_attributes_for_oid
    assert attr(NameOID.COMMON_NAME)[0].value == "Nguyễn Thị Thư Ký"
    assert attr(NameOID.TITLE)[0].value == "Chánh Văn phòng HĐND - UBND phường"
    assert attr(NameOID.ORGANIZATION_NAME)[0].value == UNIT
    assert attr(NameOID.USER_ID)[0].value == "thuky"
    who = SignerIdentity.from_certificate(cert)
    assert (who.name, who.position, who.unit, who.user_id) == (
        "Nguyễn Thị Thư Ký", "Chánh Văn phòng HĐND - UBND phường", UNIT, "thuky")
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.digital_signature and key_usage.content_commitment


def test_names_are_stored_nfc(ca: DevCA) -> None:
    decomposed = unicodedata.normalize("NFD", "Lê Thị Hương")
    cred = ca.issue_user(user_id="huong", full_name=decomposed, key_type="ec")
    name = cred.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert name == unicodedata.normalize("NFC", "Lê Thị Hương") != decomposed


def test_p12_round_trip_with_the_password(secretary: User, ca: DevCA, tmp_path: Path) -> None:
    signer = load_pkcs12(secretary.p12, P12_PASSWORD)
    assert signer_certificate(signer) == secretary.credential.certificate
    assert signer_chain(signer) == [ca.certificate]
    path = secretary.credential.write_p12(tmp_path / "thuky.p12", P12_PASSWORD)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert signer_certificate(load_pkcs12(path, P12_PASSWORD)) == \
        secretary.credential.certificate


def test_p12_with_a_wrong_password_is_a_typed_error(secretary: User) -> None:
    with pytest.raises(WrongPassword) as caught:
        load_pkcs12(secretary.p12, "không-đúng")
    assert caught.value.code == "wrong_password"
    assert "Mật khẩu" in caught.value.vi and "password" in caught.value.en


def test_a_file_that_is_not_pkcs12_is_refused() -> None:
    with pytest.raises(InvalidKeyFile):
        load_pkcs12(b"%PDF-1.7 not a key file", P12_PASSWORD)


def test_expired_and_not_yet_valid_certificates(ca: DevCA) -> None:
    user = {"user_id": "u1", "full_name": "Phạm Văn Hết Hạn"}
    expired = ca.issue_expired(**user).certificate
    future = ca.issue_not_yet_valid(**user).certificate
    now = dt.datetime.now(dt.UTC)
    assert expired.not_valid_after_utc < now
    assert future.not_valid_before_utc > now
    with pytest.raises(CertificateExpired):
        check_validity(expired)
    with pytest.raises(CertificateNotYetValid):
        check_validity(future)


def test_the_tsa_certificate_is_for_time_stamping_only(ca: DevCA) -> None:
    cert = ca.issue_tsa().certificate
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_save_and_load_or_create_keep_the_same_ca(tmp_path: Path) -> None:
    first = DevCA.load_or_create(tmp_path / "devca")
    second = DevCA.load_or_create(tmp_path / "devca")
    assert first.certificate == second.certificate
    assert oct((tmp_path / "devca" / "ca.key").stat().st_mode & 0o777) == "0o600"


def test_trust_accepts_its_own_users_and_refuses_others(ca: DevCA, secretary: User) -> None:
    Trust.of([ca.certificate]).check(secretary.credential.certificate, [ca.certificate])
    other = DevCA.create()
    with pytest.raises(CertificateUntrusted):
        Trust.of([other.certificate]).check(secretary.credential.certificate)


def test_a_revoked_certificate_is_refused_when_the_crl_says_so(ca: DevCA) -> None:
    cred = ca.issue_user(user_id="revoked", full_name="Đỗ Văn Thu Hồi", key_type="ec")
    crl = x509.load_der_x509_crl(ca.crl([cred.certificate]))
    assert crl.get_revoked_certificate_by_serial_number(cred.certificate.serial_number)
    with pytest.raises(CertificateRevoked):
        Trust.of([ca.certificate], crls=[ca.crl([cred.certificate])]).check(cred.certificate)
