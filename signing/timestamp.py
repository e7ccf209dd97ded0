"""RFC 3161 time-stamps of a SHA-256 digest (the head of a room's log), apart from any PDF.

`request_timestamp` asks a time-stamping service over HTTP (pyHanko's `HTTPTimeStamper`,
which checks the status and the nonce) and `check_timestamp` reads a token back: its
imprint must be the digest and its CMS signature must verify against the certificate it
carries (ESS signing-certificate included); with `trust` the signer must also chain to a
trusted root. The token is kept as the service answered it (DER), so anyone can check it
again on their own (`openssl ts -verify -digest … -in token.tsr -token_in`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from asn1crypto import cms, tsp, x509
from pyhanko.sign.general import check_ess_certid
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.generic_cms import (
    extract_certs_for_validation,
    get_signing_cert_attr,
    validate_sig_integrity,
    validate_tst_signed_data,
)

from .trust import Trust

TIMEOUT = 10  # seconds for one request


class TimestampFailed(Exception):
    """No valid time-stamp: the service could not be reached, refused, or answered with
    a token that does not stamp the digest or whose signature does not verify."""


@dataclass(frozen=True)
class TimeStamp:
    """A checked token: when (genTime, UTC), by whom, its serial number."""

    token: bytes  # DER ContentInfo (SignedData over a TSTInfo)
    time: dt.datetime
    tsa: str  # the service's name: its certificate's common name, else the token's `tsa`
    serial: int
    trusted: bool  # the signer chains to a root of the `trust` it was checked with


async def request_timestamp(url: str, digest: bytes, *, trust: Trust | None = None
                            ) -> TimeStamp:
    """A time-stamp of a SHA-256 digest from the service at `url` (within `TIMEOUT`),
    checked."""
    try:
        token = await HTTPTimeStamper(url, timeout=TIMEOUT).async_timestamp(digest, "sha256")
    except (TimestampRequestError, OSError, ValueError) as exc:
        raise TimestampFailed(type(exc).__name__) from None
    return await check_timestamp(token.dump(), digest, trust=trust)


async def check_timestamp(token: bytes, digest: bytes, *, trust: Trust | None = None
                          ) -> TimeStamp:
    """Read and check a DER token for a SHA-256 digest; `TimestampFailed` if it is not a
    valid time-stamp of that digest. Without `trust` no certificate path is built (the
    signature is checked against the certificate the token carries)."""
    try:
        info = cms.ContentInfo.load(token)
        signed = info["content"]
        tst = signed["encap_content_info"]["content"].parsed
        if info["content_type"].native != "signed_data" or not isinstance(tst, tsp.TSTInfo):
            raise TimestampFailed("not a time-stamp token")
        imprint = tst["message_imprint"]
        if (imprint["hash_algorithm"]["algorithm"].native != "sha256"
                or imprint["hashed_message"].native != digest):
            raise TimestampFailed("the token stamps another digest")
        signer = extract_certs_for_validation(signed).signer_cert
        signer_info = signed["signer_infos"][0]
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
        content = bytes(signed["encap_content_info"]["content"])
        intact, valid = validate_sig_integrity(signer_info, signer, "tst_info",
                                               hashlib.new(algorithm, content).digest())
        ess = get_signing_cert_attr(signer_info["signed_attrs"])
        if not (intact and valid) or (ess is not None
                                      and not check_ess_certid(signer, ess["certs"][0])):
            raise TimestampFailed("the token's signature does not verify")
        if "time_stamping" not in (signer.extended_key_usage_value.native or ()):
            raise TimestampFailed("the token's signer is not a time-stamping service")
        trusted = False
        if trust is not None:
            status = await validate_tst_signed_data(signed, trust.validation_context(),
                                                    lambda _algo: digest)
            trusted = bool(status.get("valid") and status.get("trust_problem_indic") is None
                           and status.get("validation_path") is not None)
    except TimestampFailed:
        raise
    except Exception as exc:  # asn1crypto and pyHanko raise many kinds on a bad token
        raise TimestampFailed(type(exc).__name__) from None
    return TimeStamp(token=token, time=tst["gen_time"].native.astimezone(dt.UTC),
                     tsa=_name(signer, tst), serial=int(tst["serial_number"].native),
                     trusted=trusted)


def _name(signer: x509.Certificate, tst: tsp.TSTInfo) -> str:
    common = signer.subject.native.get("common_name")
    if common:
        return str(common)
    named = tst["tsa"].native
    return str(named) if named else ""
