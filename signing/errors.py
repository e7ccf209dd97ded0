"""Typed signing errors, each with a stable code and a Vietnamese and an English message.

Every function in `signing` that refuses raises a subclass of `SigningRefused`; nothing is
returned (no half-signed PDF) when one is raised. Codes are stable API; texts may improve.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SigningRefused(Exception):
    """Base class: signing (or loading a key) was refused; see `code`, `vi`, `en`."""

    code: ClassVar[str] = "signing_refused"
    texts: ClassVar[tuple[str, str]] = ("Không thể ký số: {detail}", "Cannot sign: {detail}")

    def __init__(self, detail: str = "", **details: Any) -> None:
        self.details: dict[str, Any] = {"detail": detail, **details}
        super().__init__(self.en)

    def _format(self, text: str) -> str:
        try:
            return text.format(**self.details)
        except (KeyError, IndexError):
            return text

    @property
    def vi(self) -> str:
        return self._format(self.texts[0])

    @property
    def en(self) -> str:
        return self._format(self.texts[1])


# ---------------------------------------------------------------------------- key material


class WrongPassword(SigningRefused):
    code = "wrong_password"
    texts = ("Mật khẩu tệp chứng thư số (.p12) không đúng.",
             "The password of the certificate file (.p12) is wrong.")


class InvalidKeyFile(SigningRefused):
    code = "invalid_key_file"
    texts = ("Tệp chứng thư số không hợp lệ: {detail}", "Invalid certificate file: {detail}")


class TokenNotFound(SigningRefused):
    code = "token_not_found"
    texts = ("Không tìm thấy thiết bị ký số (USB token) {detail}.",
             "No signing token {detail} was found.")


class WrongPin(SigningRefused):
    code = "wrong_pin"
    texts = ("Mã PIN của thiết bị ký số không đúng hoặc đã bị khóa.",
             "The token PIN is wrong or locked.")


class KeyNotFound(SigningRefused):
    code = "key_not_found"
    texts = ("Không tìm thấy khóa ký hoặc chứng thư số trên thiết bị: {detail}",
             "No signing key or certificate on the token: {detail}")


class TokenError(SigningRefused):
    code = "token_error"
    texts = ("Lỗi thiết bị ký số: {detail}", "Signing token error: {detail}")


# ---------------------------------------------------------------------------- certificates


class CertificateNotValid(SigningRefused):
    """The certificate is outside its validity period (see the two subclasses)."""

    code = "certificate_not_valid"
    texts = ("Chứng thư số không còn hiệu lực.", "The certificate is not valid now.")


class CertificateExpired(CertificateNotValid):
    code = "certificate_expired"
    texts = ("Chứng thư số đã hết hạn ngày {not_after}.",
             "The certificate expired on {not_after}.")


class CertificateNotYetValid(CertificateNotValid):
    code = "certificate_not_yet_valid"
    texts = ("Chứng thư số chỉ có hiệu lực từ ngày {not_before}.",
             "The certificate is valid only from {not_before}.")


class CertificateUntrusted(SigningRefused):
    code = "certificate_untrusted"
    texts = ("Chứng thư số không do tổ chức được tin cậy cấp: {detail}",
             "The certificate is not issued by a trusted authority: {detail}")


class CertificateRevoked(CertificateUntrusted):
    code = "certificate_revoked"
    texts = ("Chứng thư số đã bị thu hồi.", "The certificate has been revoked.")


class SignerMismatch(SigningRefused):
    code = "signer_mismatch"
    texts = ("Chứng thư số của {actual} không phải của người ký {expected}.",
             "The certificate belongs to {actual}, not to the expected signer {expected}.")


# ---------------------------------------------------------------------------- the document


class FieldNotFound(SigningRefused):
    code = "field_not_found"
    texts = ("Văn bản không có ô chữ ký {field}.", "The document has no signature field {field}.")


class FieldAlreadySigned(SigningRefused):
    code = "field_already_signed"
    texts = ("Ô chữ ký {field} đã được ký.", "The signature field {field} is already signed.")


class OutOfOrder(SigningRefused):
    code = "out_of_order"
    texts = ("Chưa thể ký ô {field}: ô {missing} phải được ký trước.",
             "Cannot sign {field} yet: {missing} must be signed first.")


class DocumentLocked(SigningRefused):
    code = "document_locked"
    texts = ("Văn bản đã được khóa sau chữ ký cuối, không thể ký thêm.",
             "The document is locked by its final signature; nothing more can be signed.")


class InvalidDocument(SigningRefused):
    code = "invalid_document"
    texts = ("Tệp PDF không hợp lệ: {detail}", "Invalid PDF: {detail}")


# ---------------------------------------------------------------------------- the signing step


class TimestampUnavailable(SigningRefused):
    code = "timestamp_unavailable"
    texts = ("Không lấy được dấu thời gian từ máy chủ cấp dấu thời gian: {detail}",
             "No timestamp could be obtained from the time-stamping service: {detail}")


class InvalidSignatureValue(SigningRefused):
    code = "invalid_signature_value"
    texts = ("Giá trị chữ ký nhận về không hợp lệ: {detail}",
             "The signature value received is invalid: {detail}")


class StaleDocument(SigningRefused):
    code = "stale_document"
    texts = ("Văn bản đã thay đổi kể từ khi chuẩn bị ký; vui lòng ký lại.",
             "The document changed since signing was prepared; please sign again.")


class SigningFailed(SigningRefused):
    code = "signing_failed"
    texts = ("Ký số không thành công: {detail}", "Signing failed: {detail}")
