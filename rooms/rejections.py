"""Typed refusals, each with a Vietnamese and an English message.

A refusal is data: the core returns it instead of events, and every edge (websocket,
HTTP) renders the same code and texts. Codes are stable API; texts may improve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# code -> (Vietnamese, English). Placeholders use str.format with the refusal's details.
TEXTS: dict[str, tuple[str, str]] = {
    "forbidden": (
        "Bạn không có quyền thực hiện thao tác này.",
        "You are not allowed to do this.",
    ),
    "not_participant": (
        "Bạn không phải thành phần tham dự cuộc họp này.",
        "You are not a participant of this meeting.",
    ),
    "not_found": ("Không tìm thấy {what}.", "{what_en} not found."),
    "invalid": ("Dữ liệu không hợp lệ: {detail}", "Invalid input: {detail}"),
    "invalid_state": (
        "Không thể thực hiện khi {state_vi}.",
        "Not possible while {state_en}.",
    ),
    "duplicate": ("{what} đã có.", "{what_en} already exists."),
    "already_requested": (
        "Bạn đã đăng ký phát biểu rồi.",
        "You have already requested to speak.",
    ),
    "already_checked_in": ("Đã điểm danh rồi.", "Already checked in."),
    "not_requested": ("Chưa có đăng ký phát biểu này.", "There is no such request to speak."),
    "no_speaker": ("Hiện không có ai đang phát biểu.", "Nobody has the floor."),
    "no_next_item": ("Không còn nội dung nào tiếp theo.", "There is no next agenda item."),
    "conflict": (
        "Có thay đổi đồng thời, vui lòng thử lại.",
        "A concurrent change happened; please try again.",
    ),
    "log_broken": (
        "Nhật ký cuộc họp không còn toàn vẹn từ sự kiện số {seq}: phòng họp không được mở. "
        "Vui lòng báo cho quản trị hệ thống.",
        "The meeting's log is broken at event {seq}: the room is not opened. Please tell "
        "the system administrator.",
    ),
    "count_mismatch": (
        "Kết quả của cuộc biểu quyết số {poll_id} không khớp với hòm phiếu đã niêm phong: "
        "phòng họp không được mở. Vui lòng báo cho quản trị hệ thống.",
        "The result of poll {poll_id} does not match its sealed ballot box: the room is not "
        "opened. Please tell the system administrator.",
    ),
    "store_unavailable": (
        "Máy chủ tạm thời không lưu được dữ liệu, vui lòng thử lại.",
        "The server cannot store data right now; please retry.",
    ),
    "outcome_unknown": (
        "Máy chủ bị gián đoạn khi đang ghi lệnh nên không rõ lệnh đã được ghi nhận hay chưa: "
        "vui lòng xem lại phòng họp trước khi gửi lại.",
        "The server was interrupted while recording the command, so it is not known whether "
        "it was applied: check the room before sending it again.",
    ),
    "malformed_json": ("Thông điệp không phải JSON hợp lệ.", "The message is not valid JSON."),
    "unknown_type": (
        "Loại thông điệp không được hỗ trợ: {detail}",
        "Unknown message type: {detail}",
    ),
    "unknown_command": ("Lệnh không được hỗ trợ: {detail}", "Unknown command: {detail}"),
    "too_large": ("Dữ liệu quá lớn.", "The input is too large."),
    "not_joined": (
        "Bạn chưa vào phòng họp này trên kết nối này.",
        "This connection has not joined that meeting.",
    ),
    "already_joined": (
        "Kết nối này đã vào một phòng họp.",
        "This connection has already joined a meeting.",
    ),
    "cross_origin": (
        "Yêu cầu không đến từ trang của phòng họp nên bị từ chối.",
        "Refused: the request did not come from the meeting server's own page.",
    ),
    "content_type": (
        "Yêu cầu thiếu kiểu nội dung application/json hoặc tiêu đề X-Phonghop-Request.",
        "The request needs the application/json content type or the X-Phonghop-Request "
        "header.",
    ),
    "rate_limited": ("Bạn gửi quá nhanh, vui lòng chậm lại.", "Too many messages; slow down."),
    "unauthenticated": (
        "Phiên đăng nhập không hợp lệ hoặc đã hết hạn.",
        "Not signed in, or the session has expired.",
    ),
    "bad_credentials": (
        "Tên đăng nhập hoặc mật khẩu không đúng.",
        "Wrong username or password.",
    ),
    "account_disabled": (
        "Tài khoản này đã bị khoá. Vui lòng liên hệ quản trị viên.",
        "This account is disabled; please contact an administrator.",
    ),
    "weak_password": (
        "Mật khẩu chưa đủ mạnh: cần ít nhất 10 ký tự, không chứa tên đăng nhập và không chỉ"
        " lặp lại vài ký tự.",
        "The password is too weak: use at least 10 characters, not containing the username"
        " and not just a few characters repeated.",
    ),
    "own_account": (
        "Không thể làm thao tác này với chính tài khoản của bạn.",
        "You cannot do this to your own account.",
    ),
    "no_trust_roots": (
        "Máy chủ chưa cấu hình chứng thư gốc tin cậy nên chưa thể ký số.",
        "No trusted root certificates are configured on the server, so signing is refused.",
    ),
    "busy": (
        "Máy chủ đang bận, vui lòng thử lại sau giây lát.",
        "The server is busy; try again in a moment.",
    ),
    "too_many_connections": (
        "Tài khoản này đang mở quá nhiều kết nối; hãy đóng bớt thiết bị hoặc thẻ trình duyệt.",
        "This account has too many open connections; close some devices or browser tabs.",
    ),
    "too_many_attempts": (
        "Nhập sai quá nhiều lần, vui lòng thử lại sau {retry_after} giây.",
        "Too many failed attempts; try again in {retry_after} seconds.",
    ),
    "credential_unreadable": (
        "Không mở được chứng thư số đã lưu trên máy chủ này; vui lòng tải tệp lên lại.",
        "The signing credential stored on this server cannot be opened; upload it again.",
    ),
    "same_version": (
        "Tệp này đã là phiên bản hiện hành của tài liệu.",
        "This file is already the document's current version.",
    ),
    "not_presenting": ("Hiện không có ai trình chiếu.", "Nobody is presenting."),
    "confidential_viewers_only": (
        "Tài liệu mật: chỉ người được chỉ định xem mới được thực hiện thao tác này.",
        "Confidential document: only its named viewers may do this.",
    ),
    "confidential_text": (
        "Không cung cấp văn bản thuần của tài liệu mật; hãy đọc các trang có dấu người xem.",
        "The plain text of a confidential document is not given out; read its stamped pages.",
    ),
    "empty_file": ("Tệp rỗng (0 byte).", "The file is empty (0 bytes)."),
    "unsupported_type": (
        "Không hỗ trợ loại tệp này; hãy tải lên PDF, Word, Excel hoặc OpenDocument.",
        "This kind of file is not supported; upload a PDF, Word, Excel or OpenDocument file.",
    ),
    "encrypted_pdf": (
        "Tệp PDF được đặt mật khẩu; hãy gỡ mật khẩu rồi tải lên lại.",
        "The PDF is password-protected; remove the password and upload it again.",
    ),
    "broken_pdf": (
        "Tệp PDF bị hỏng và không sửa được: {detail}",
        "The PDF is damaged beyond repair: {detail}",
    ),
    "too_many_pages": (
        "Tài liệu có quá nhiều trang (tối đa {detail}).",
        "The document has too many pages (at most {detail}).",
    ),
    "conversion_unavailable": (
        "Máy chủ chưa cài LibreOffice nên chưa chuyển được tệp Office sang PDF; "
        "hãy tải lên bản PDF.",
        "LibreOffice is not installed, so Office files cannot be converted; upload a PDF.",
    ),
    "conversion_failed": (
        "Không chuyển được tệp sang PDF: {detail}",
        "The file could not be converted to PDF: {detail}",
    ),
    "render_timeout": (
        "Trang này mất quá nhiều thời gian để hiển thị và đã bị dừng.",
        "This page took too long to render and was stopped.",
    ),
    "render_failed": ("Không hiển thị được trang này.", "This page could not be rendered."),
    "too_complex": (
        "Tệp quá phức tạp: xử lý tệp này cần nhiều bộ nhớ hơn mức máy chủ cho phép.",
        "The file is too complex: processing it needs more memory than the server allows.",
    ),
    "verify_timeout": (
        "Kiểm tra chữ ký số của tệp này mất quá nhiều thời gian hoặc máy chủ đang bận; "
        "vui lòng thử lại sau {retry_after} giây.",
        "Verifying this file's signatures took too long, or the server is busy; try again "
        "in {retry_after} seconds.",
    ),
    "poll_not_open": ("Cuộc biểu quyết chưa mở.", "The poll is not open."),
    "poll_closed": ("Cuộc biểu quyết đã kết thúc.", "The poll is closed."),
    "not_eligible": (
        "Bạn không thuộc diện biểu quyết trong cuộc biểu quyết này: {detail_vi}.",
        "You may not vote in this poll: {detail_en}.",
    ),
    "already_voted": ("Bạn đã biểu quyết rồi.", "You have already voted."),
    "invalid_choice": (
        "Lựa chọn không hợp lệ cho cuộc biểu quyết này.",
        "That choice is not valid in this poll.",
    ),
    "too_many_choices": (
        "Chọn quá số lượng cho phép (tối đa {n}).",
        "Too many choices (at most {n}).",
    ),
    "too_few_choices": ("Cần chọn ít nhất {n}.", "Choose at least {n}."),
    "invalid_ballot": (
        "Lá phiếu mã hóa không hợp lệ ({problem}); thiết bị cần lập lại một lá phiếu mới.",
        "The encrypted ballot is not valid ({problem}); the device must make a fresh one.",
    ),
    "board_not_ready": (
        "Ban kiểm phiếu chưa hoàn tất việc tạo khóa: chưa thể mở cuộc biểu quyết kín này.",
        "The counting board has not finished its key ceremony: this secret poll cannot "
        "open yet.",
    ),
    "invalid_board_message": (
        "Thông điệp tạo khóa của ban kiểm phiếu không hợp lệ: {detail}.",
        "The counting board's key-ceremony message is not valid: {detail}.",
    ),
    "already_sent": (
        "Thiết bị của bạn đã gửi bước này rồi.",
        "Your device has already sent this step.",
    ),
    "invalid_partial": (
        "Phần giải mã không đúng với tổng phiếu mã hóa ({detail}).",
        "The partial decryption does not match the encrypted totals ({detail}).",
    ),
    "no_credential": (
        "Bạn chưa có chứng thư số trên hệ thống; hãy tải lên tệp PKCS#12 (.p12) của bạn.",
        "You have no signing credential here; upload your PKCS#12 (.p12) file.",
    ),
    "no_token": (
        "Máy chủ chưa cấu hình thiết bị ký số (PKCS#11).",
        "No PKCS#11 signing token is configured on the server.",
    ),
    "edit_conflict": (
        "Phần này vừa được người khác sửa; hãy xem bản mới và gộp nội dung của bạn.",
        "Someone else has just edited this section; review their text and merge yours.",
    ),
    "already_signed": ("Biên bản đã được ký ở vị trí này.", "This signature is already applied."),
    "secretary_first": (
        "Thư ký phải ký biên bản trước, sau đó chủ trì mới ký.",
        "The secretary signs the minutes first, then the chair.",
    ),
    "own_role": (
        "Không ai được tự thay đổi vai trò, quyền biểu quyết hay người dự thay của mình.",
        "Nobody may change their own role, vote or substitute.",
    ),
    "roles_frozen": (
        "Đang có cuộc biểu quyết: vai trò, quyền biểu quyết và thành phần biểu quyết "
        "không được thay đổi cho đến khi kết thúc biểu quyết.",
        "A poll is open: roles, voting rights and the electorate cannot change until it "
        "closes.",
    ),
    "role_vacant": (
        "Cuộc họp phải có đúng một {role_vi}; hãy giao vai trò này cho người khác "
        "(vai trò sẽ chuyển sang người đó), không để trống.",
        "The meeting must have exactly one {role_en}; give the role to someone else "
        "(it moves to them) instead of leaving it empty.",
    ),
    "not_substitutable": (
        "Chủ trì và thư ký không cử người dự thay; chủ trì giao vai trò cho người khác trước.",
        "The chair and the secretary cannot send a substitute; the chair gives the role to "
        "someone else first.",
    ),
    "substituted": (
        "Có người dự thay đã được duyệt hoặc đang chờ duyệt cho thành phần này; quyền của "
        "họ tạm dừng trong khi có người dự thay.",
        "This member has an approved or pending substitute; their own rights are paused "
        "while substituted.",
    ),
}

# Words used inside messages, so a refusal reads naturally in both languages.
THINGS: dict[str, tuple[str, str]] = {
    "meeting": ("cuộc họp", "Meeting"),
    "participant": ("thành phần tham dự", "Participant"),
    "user": ("người dùng", "User"),
    "item": ("nội dung họp", "Agenda item"),
    "site": ("điểm cầu", "Online site"),
    "speaker": ("người phát biểu", "Speaker"),
    "document": ("tài liệu", "Document"),
    "file": ("tệp đã tải lên", "Uploaded file"),
    "page": ("trang", "Page"),
    "annotation": ("ghi chú", "Annotation"),
    "poll": ("cuộc biểu quyết", "Poll"),
    "conclusion": ("kết luận", "Conclusion"),
    "receipt": ("phiếu có mã này", "Ballot with this receipt"),
    "substitute_request": ("đề nghị cử người dự thay", "Substitute request"),
}

STATES: dict[str, tuple[str, str]] = {
    "draft": ("cuộc họp còn là bản nháp", "the meeting is a draft"),
    "invited": ("cuộc họp chưa bắt đầu", "the meeting has not started"),
    "in_session": ("cuộc họp đang diễn ra", "the meeting is in session"),
    "ended": ("cuộc họp đã kết thúc", "the meeting has ended"),
    "active": ("nội dung đang được thảo luận", "the item is being discussed"),
    "done": ("nội dung đã xong", "the item is done"),
    "speaking": ("đang có người phát biểu", "someone has the floor"),
    "presenting": ("người khác đang trình chiếu", "someone else is presenting"),
    "poll_open": ("đang có cuộc biểu quyết", "a poll is open"),
    "minutes_signing": ("biên bản đang được ký", "the minutes are being signed"),
    "minutes_unprepared": (
        "biên bản chưa được tạo bản PDF để ký", "the minutes' PDF has not been prepared"),
    "poll_draft": ("cuộc biểu quyết chưa mở", "the poll has not been opened"),
    "poll_closed": ("cuộc biểu quyết đã kết thúc", "the poll is closed"),
    "poll_published": ("kết quả đã được công bố", "the result is published"),
    "poll_cancelled": ("cuộc biểu quyết đã bị hủy", "the poll is cancelled"),
    "poll_void": ("cuộc biểu quyết không kiểm được phiếu", "the poll is void"),
    "board_collecting": ("ban kiểm phiếu đang nhận cam kết khóa",
                         "the counting board is collecting key commitments"),
    "board_dealing": ("ban kiểm phiếu đang chia phần khóa",
                      "the counting board is dealing key shares"),
    "board_checking": ("ban kiểm phiếu đang kiểm tra phần khóa",
                       "the counting board is checking key shares"),
    "board_ready": ("ban kiểm phiếu đã tạo xong khóa", "the counting board's key is ready"),
    "board_failed": ("việc tạo khóa của ban kiểm phiếu bị lỗi và cần làm lại",
                     "the counting board's key ceremony failed and must restart"),
}

RETRYABLE = frozenset({"conflict", "store_unavailable", "rate_limited", "busy"})
WITH_DETAILS = frozenset({"edit_conflict", "invalid_ballot"})


@dataclass(frozen=True)
class Rejection:
    """A refusal: nothing changes, and the caller is told why."""

    code: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    def message(self) -> dict[str, str]:
        """The refusal's message in Vietnamese and English."""
        vi, en = TEXTS.get(self.code, ("Không thực hiện được.", "Refused."))
        return {"vi": vi.format_map(_Fill(self.details)), "en": en.format_map(_Fill(self.details))}

    def to_json(self) -> dict[str, Any]:
        out = {"code": self.code, "message": self.message(), "retryable": self.retryable}
        if self.code in WITH_DETAILS:
            out["details"] = self.details  # data the client acts on, not only words
        return out


def not_found(what: str) -> Rejection:
    vi, en = THINGS[what]
    return Rejection("not_found", {"what": vi, "what_en": en})


def duplicate(what: str) -> Rejection:
    vi, en = THINGS[what]
    return Rejection("duplicate", {"what": vi.capitalize(), "what_en": en})


def invalid_state(state: str) -> Rejection:
    vi, en = STATES[state]
    return Rejection("invalid_state", {"state_vi": vi, "state_en": en, "state": state})


def invalid(detail: str) -> Rejection:
    return Rejection("invalid", {"detail": detail})


class _Fill(dict):
    """format_map helper: a missing placeholder renders empty instead of raising."""

    def __missing__(self, key: str) -> str:
        return ""
