"""RFC 3161 timestamps from the development time-stamping service, over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import socket
import urllib.error
import urllib.request

import pytest
from asn1crypto import tsp
from pyhanko.pdf_utils.reader import PdfFileReader

from phonghop.signing.devca import DevCA
from phonghop.signing.errors import TimestampUnavailable
from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD
from phonghop.signing.sign import finish, prepare, sign_field
from phonghop.signing.trust import Trust
from phonghop.signing.tsa_dev import DEV_POLICY, DevTimeStampAuthority, TimeStampResponse
from phonghop.signing.verify import verify_pdf

from .conftest import User
from .test_external import sign_digest


def query(digest: bytes, *, nonce: int | None = 7, algorithm: str = "sha256",
          cert_req: bool = True) -> bytes:
    req = {"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": algorithm},
                                                "hashed_message": digest},
           "cert_req": cert_req}
    if nonce is not None:
        req["nonce"] = nonce
    return tsp.TimeStampReq(req).dump()


def post(url: str, body: bytes, kind: str = "application/timestamp-query") -> bytes:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": kind})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/timestamp-reply"
        return response.read()


def test_the_service_grants_a_token_over_http(tsa: DevTimeStampAuthority) -> None:
    digest = hashlib.sha256("biên bản".encode()).digest()
    resp = tsp.TimeStampResp.load(post(tsa.url, query(digest)))
    assert resp["status"]["status"].native == "granted"
    signed = resp["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 7 and info["policy"].native == DEV_POLICY
    assert abs(info["gen_time"].native - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert len(signed["certificates"]) == 2  # the TSA's certificate and its CA


def test_malformed_queries_are_rejected_with_the_rfc_failure_bits(
        tsa: DevTimeStampAuthority) -> None:
    def failure(body: bytes) -> set[str]:
        resp = TimeStampResponse.load(tsa.respond(body))
        assert resp["status"]["status"].native == "rejection"
        return set(resp["status"]["fail_info"].native)

    assert failure(b"\x30\x03junk") == {"bad_data_format"}
    assert failure(query(b"\x00" * 20, algorithm="sha1")) == {"bad_alg"}
    assert failure(query(b"\x00" * 31)) == {"bad_data_format"}
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(tsa.url, query(b"\x00" * 32), kind="text/plain")
    assert caught.value.code == 400


def test_signatures_carry_a_trusted_timestamp(minutes_pdf: bytes, secretary: User,
                                              chair: User, trust: Trust,
                                              tsa: DevTimeStampAuthority) -> None:
    before = tsa.granted
    one = sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(),
                     expected=secretary.expected, trust=trust, tsa_url=tsa.url)
    both = sign_field(one, CHAIR_FIELD, chair.signer(), expected=chair.expected, trust=trust,
                      tsa_url=tsa.url)
    assert tsa.granted - before >= 2  # requested over HTTP
    report = verify_pdf(both, trust=trust)
    assert report.all_valid, report
    for sig in report.signatures:
        assert sig.timestamp is not None and sig.timestamp_trusted
        assert abs(sig.timestamp - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    sig = PdfFileReader(io.BytesIO(both)).embedded_regular_signatures[0]
    unsigned = sig.signer_info["unsigned_attrs"].native
    assert unsigned and unsigned[0]["type"] == "signature_time_stamp_token"  # PAdES B-T


def test_external_signing_with_a_timestamp(signed_by_secretary: bytes, chair: User,
                                           ca: DevCA, trust: Trust,
                                           tsa: DevTimeStampAuthority) -> None:
    state, digest = prepare(signed_by_secretary, CHAIR_FIELD, chair.credential.certificate,
                            chain=[ca.certificate], expected=chair.expected, trust=trust,
                            tsa_url=tsa.url)
    report = verify_pdf(finish(state, sign_digest(chair, digest), trust=trust), trust=trust)
    assert report.all_valid and report.signatures[1].timestamp_trusted, report


def test_an_unreachable_service_is_a_typed_error(minutes_pdf: bytes, secretary: User) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(TimestampUnavailable):
        sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(),
                   expected=secretary.expected, tsa_url=f"http://127.0.0.1:{port}/tsa")


def test_a_token_from_an_untrusted_tsa_is_reported(minutes_pdf: bytes, secretary: User,
                                                   trust: Trust) -> None:
    with DevTimeStampAuthority(DevCA.create().issue_tsa(key_type="ec")) as stranger:
        signed = sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(),
                            expected=secretary.expected, tsa_url=stranger.url)
    report = verify_pdf(signed, trust=trust)
    assert report.signatures[0].timestamp_trusted is False
    assert [p.code for p in report.signatures[0].problems] == ["timestamp_invalid"]
    assert not report.all_valid
