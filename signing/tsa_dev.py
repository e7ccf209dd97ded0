"""A small RFC 3161 time-stamping service over HTTP, for development and tests.

FOR DEVELOPMENT ONLY: production uses a licensed TSA. It answers `POST` requests of type
`application/timestamp-query` with a `TimeStampResp` signed by a certificate from the
development CA (`DevCA.issue_tsa`), built from asn1crypto and pyHanko primitives: a TSTInfo
(policy, the request's imprint and nonce, a serial number, the time, accuracy 1 s) in a
CMS SignedData whose signed attributes carry the ESS signing-certificate-v2 (RFC 5816).
Malformed requests get a `rejection` status with the RFC's failure bits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from asn1crypto import algos, cms, core, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

from .devca import Credential
from .identity import to_asn1

# A UUID-based OID (ITU-T X.667, arc 2.25): this service's time-stamp policy.
DEV_POLICY = "2.25.219482702128358153860457919566154375391"
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
MAX_REQUEST = 64 * 1024


class TimeStampResponse(core.Sequence):
    """RFC 3161 TimeStampResp; asn1crypto's makes the token mandatory, the RFC does not
    (a rejection carries none)."""

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _failure(bit: str) -> bytes:
    return TimeStampResponse({
        "status": tsp.PKIStatusInfo({"status": "rejection",
                                     "fail_info": tsp.PKIFailureInfo({bit})}),
    }).dump()


class DevTimeStampAuthority:
    """An RFC 3161 responder (`respond`) and an HTTP server for it (`start` / `stop`)."""

    def __init__(self, credential: Credential, *, host: str = "127.0.0.1", port: int = 0,
                 policy: str = DEV_POLICY) -> None:
        self.credential = credential
        self.host, self.port = host, port
        self.policy = policy
        self._cert = to_asn1(credential.certificate)
        self._chain = [to_asn1(c) for c in credential.chain]
        self._serials = itertools.count(secrets.randbits(48))
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.granted = 0  # how many time-stamps were issued

    # ------------------------------------------------------------------ the protocol

    def respond(self, request: bytes, now: dt.datetime | None = None) -> bytes:
        """A DER `TimeStampResp` for a DER `TimeStampReq`."""
        try:
            req = tsp.TimeStampReq.load(request)
            req.native  # noqa: B018 - parse it all now, so a malformed query fails here
            imprint = req["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            hashed = imprint["hashed_message"].native
            asked_policy = req["req_policy"].native
            version = req["version"].native
        except (ValueError, TypeError, KeyError):
            return _failure("bad_data_format")
        if version != "v1":
            return _failure("bad_request")
        if algorithm not in _DIGEST_SIZES:
            return _failure("bad_alg")
        if len(hashed) != _DIGEST_SIZES[algorithm]:
            return _failure("bad_data_format")
        if asked_policy is not None and asked_policy != self.policy:
            return _failure("unaccepted_policy")
        if req["extensions"].native:
            return _failure("unaccepted_extensions")

        moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        with self._lock:
            serial = next(self._serials)
        info = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": imprint,
            "serial_number": serial,
            "gen_time": moment,
            "accuracy": {"seconds": 1},
            "ordering": False,
            "tsa": {"directory_name": self._cert.subject},
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        tst_info = tsp.TSTInfo(info).dump()
        token = self._sign(tst_info, moment, include_certs=bool(req["cert_req"].native))
        with self._lock:
            self.granted += 1
        return TimeStampResponse({
            "status": tsp.PKIStatusInfo({"status": "granted"}),
            "time_stamp_token": token,
        }).dump()

    def _sign(self, tst_info: bytes, moment: dt.datetime, *, include_certs: bool
              ) -> cms.ContentInfo:
        attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(moment)})),
            simple_cms_attribute("message_digest", hashlib.sha256(tst_info).digest()),
            simple_cms_attribute("signing_certificate_v2",
                                 as_signing_certificate_v2(self._cert, "sha256")),
        ])
        key = self.credential.key
        if isinstance(key, rsa.RSAPrivateKey):
            signature = key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
            sig_algo = "sha256_rsa"
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            signature = key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
            sig_algo = "sha256_ecdsa"
        else:  # pragma: no cover - DevCA issues RSA or EC only
            raise TypeError(type(key).__name__)
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": self._cert.issuer, "serial_number": self._cert.serial_number})}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": sig_algo}),
            "signature": signature,
        })
        signed: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info",
                                   "content": cms.ParsableOctetString(tst_info)},
            "signer_infos": [signer_info],
        }
        if include_certs:
            signed["certificates"] = [self._cert, *self._chain]
        return cms.ContentInfo({"content_type": "signed_data",
                                "content": cms.SignedData(signed)})

    # ------------------------------------------------------------------ the HTTP service

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the time-stamping service is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/tsa"

    def start(self) -> DevTimeStampAuthority:
        """Listen (on a free port by default) in a background thread."""
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                kind = self.headers.get("Content-Type", "").split(";")[0].strip()
                if kind != "application/timestamp-query" or not 0 < length <= MAX_REQUEST:
                    self.send_error(400, "expected an application/timestamp-query body")
                    return
                body = authority.respond(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.send_error(405, "POST a time-stamp query")

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: tests and development

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="dev-tsa", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DevTimeStampAuthority:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def certificate_pem(self) -> bytes:
        return self.credential.certificate.public_bytes(serialization.Encoding.PEM)
