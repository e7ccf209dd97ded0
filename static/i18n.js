// Every text the interface shows, in Vietnamese (default) and English.
// Terms follow the field glossary (FIELD.md: "words the interface must use"). Keep it NFC.

const STORAGE_KEY = "phonghop.lang";

const STRINGS = {
  vi: {
    "app.name": "Phòng họp không giấy tờ",
    "app.short": "Phòng họp",
    "lang.switch": "English",
    "lang.switch_label": "Chuyển sang tiếng Anh",
    "nav.logout": "Đăng xuất",

    "login.title": "Đăng nhập hệ thống",
    "login.subtitle": "Sử dụng tài khoản do đơn vị cấp.",
    "login.username": "Tên đăng nhập",
    "login.password": "Mật khẩu",
    "login.submit": "Đăng nhập",
    "login.submitting": "Đang đăng nhập…",
    "login.wait": "Thử lại sau {s} giây",
    "login.required": "Vui lòng nhập tên đăng nhập và mật khẩu.",
    "login.footer": "Hệ thống phục vụ họp không giấy tờ của cơ quan nhà nước.",

    "error.network": "Không kết nối được tới máy chủ. Vui lòng kiểm tra mạng và thử lại.",
    "error.server": "Máy chủ gặp sự cố (mã {status}). Vui lòng thử lại sau.",
    "error.session_expired": "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
    "error.retry": "Thử lại",
    "error.removed": "Bạn không còn trong danh sách tham dự cuộc họp này.",
    "error.back": "Quay lại danh sách cuộc họp",

    "meetings.title": "Cuộc họp của tôi",
    "meetings.all": "Tất cả cuộc họp",
    "meetings.scope": "Phạm vi",
    "meetings.empty": "Hiện chưa có cuộc họp nào.",
    "meetings.loading": "Đang tải danh sách cuộc họp…",
    "meetings.count": "{n} cuộc họp",
    "meetings.no_place": "Chưa có địa điểm",
    "meetings.group.live": "Đang diễn ra",
    "meetings.group.upcoming": "Sắp tới",
    "meetings.group.ended": "Đã kết thúc",

    "status.draft": "Bản nháp",
    "status.invited": "Chưa khai mạc",
    "status.in_session": "Đang họp",
    "status.ended": "Đã kết thúc",

    "role.chair": "Chủ trì",
    "role.secretary": "Thư ký",
    "role.delegate": "Đại biểu",
    "role.invitee": "Khách mời",
    "role.presenter": "Người trình bày",
    "role.site_operator": "Kỹ thuật viên điểm cầu",
    "role.administrator": "Quản trị",
    "role.observer": "Theo dõi",

    "room.back": "Cuộc họp của tôi",
    "room.loading": "Đang vào phòng họp…",
    "room.started_at": "Khai mạc lúc {time}",
    "room.ended_at": "Bế mạc lúc {time}",
    "room.you_are": "Bạn tham dự với vai trò {role}",

    "quorum.title": "Số thành viên có mặt",
    "quorum.count": "{present}/{total}",
    "quorum.members": "thành viên có quyền biểu quyết",
    "quorum.reached": "Đủ số lượng để tiến hành",
    "quorum.not_reached": "Chưa đủ số lượng",
    "quorum.rule_strict": "Yêu cầu: quá {num}/{den} tổng số thành viên",
    "quorum.rule_atleast": "Yêu cầu: ít nhất {num}/{den} tổng số thành viên",

    "chair.title": "Điều hành phiên họp",
    "chair.start": "Khai mạc phiên họp",
    "chair.next": "Chuyển nội dung tiếp theo",
    "chair.end": "Bế mạc phiên họp",
    "chair.end_confirm_title": "Bế mạc phiên họp?",
    "chair.end_confirm": "Phiên họp sẽ kết thúc; nội dung đang thảo luận và lượt phát biểu hiện tại sẽ dừng lại.",
    "chair.ended": "Phiên họp đã kết thúc.",

    "agenda.title": "Chương trình họp",
    "agenda.empty": "Chưa có nội dung họp.",
    "agenda.status.pending": "Chưa thảo luận",
    "agenda.status.active": "Đang thảo luận",
    "agenda.status.done": "Đã xong",
    "agenda.status.deferred": "Tạm hoãn",
    "agenda.planned": "Dự kiến {n} phút",
    "agenda.presenter": "Trình bày: {name}",
    "agenda.activate": "Bắt đầu thảo luận",
    "agenda.resume": "Tiếp tục thảo luận",
    "agenda.done": "Kết thúc nội dung",
    "agenda.defer": "Tạm hoãn",
    "agenda.elapsed": "Thời gian đã thảo luận",
    "agenda.spent": "Đã thảo luận {time}",
    "agenda.over": "Quá thời gian dự kiến",

    "floor.title": "Phát biểu",
    "floor.current": "Đang phát biểu",
    "floor.none": "Chưa có người phát biểu",
    "floor.none_hint": "Chủ trì sẽ giao quyền phát biểu theo danh sách đăng ký.",
    "floor.remaining": "Thời gian còn lại",
    "floor.overtime": "Quá thời gian",
    "floor.of": "Thời lượng {time}",
    "floor.end": "Kết thúc phát biểu",
    "floor.extend": "+{n} phút",
    "floor.extend_label": "Thêm {n} phút",
    "floor.request": "Đăng ký phát biểu",
    "floor.request_site": "Đăng ký phát biểu cho điểm cầu",
    "floor.withdraw": "Rút đăng ký",
    "floor.you_speaking": "Bạn đang phát biểu",
    "floor.position": "Bạn ở vị trí thứ {n} trong danh sách đăng ký",
    "floor.only_in_session": "Chỉ đăng ký phát biểu được khi phiên họp đang diễn ra.",
    "floor.queue": "Danh sách đăng ký phát biểu",
    "floor.queue_empty": "Chưa có ai đăng ký phát biểu.",
    "floor.grant": "Giao quyền phát biểu",
    "floor.remove": "Xóa khỏi danh sách",
    "floor.requested_at": "Đăng ký lúc {time}",
    "floor.site": "Điểm cầu: {name}",
    "floor.granted_you": "Chủ trì đã giao quyền phát biểu cho bạn.",

    "me.check_in": "Điểm danh",
    "me.checked_in": "Đã điểm danh lúc {time}",
    "me.absent": "Đã báo vắng: {reason}",
    "me.actions": "Thao tác của bạn",

    "att.title": "Thành phần tham dự",
    "att.present": "Có mặt",
    "att.absent": "Vắng mặt",
    "att.absent_reason": "Vắng mặt: {reason}",
    "att.pending": "Chưa điểm danh",
    "att.summary": "Có mặt {present} · Vắng {absent} · Chưa điểm danh {pending}",
    "att.search": "Tìm theo tên, chức vụ",
    "att.no_match": "Không có người phù hợp.",
    "att.roster_hidden": "Danh sách thành phần tham dự chỉ hiển thị với chủ trì và thư ký.",
    "att.more": "Đang hiển thị {shown}/{total} người — nhập tên để tìm người khác.",
    "att.check_in": "Điểm danh",
    "att.check_in_label": "Điểm danh cho {name}",
    "att.mark_absent": "Báo vắng",
    "att.mark_absent_label": "Báo vắng cho {name}",
    "att.online": "Đang trực tuyến",
    "att.offline": "Không trực tuyến",
    "att.substitute_for": "Dự thay cho {name}",
    "att.substituted_by": "Người dự thay: {name}",
    "att.rsvp_absent": "Đã báo không dự",
    "att.sites": "Điểm cầu trực tuyến",
    "att.you": "(bạn)",

    "absent.title": "Báo vắng mặt",
    "absent.who": "Đại biểu: {name}",
    "absent.reason": "Lý do vắng mặt",
    "absent.placeholder": "Ví dụ: đi công tác theo kế hoạch",
    "absent.submit": "Xác nhận vắng mặt",

    "notice.title": "Thông báo",
    "notice.empty": "Chưa có thông báo.",
    "notice.placeholder": "Nội dung thông báo tới các đại biểu",
    "notice.post": "Gửi thông báo",
    "notice.by": "{name} · {time}",
    "notice.new": "Thông báo mới",

    "doc.title": "Tài liệu họp",
    "doc.empty": "Chưa có tài liệu.",
    "doc.general": "Tài liệu chung của cuộc họp",
    "doc.add": "Thêm tài liệu",
    "doc.open": "Mở tài liệu",
    "doc.pages": "{n} trang",
    "doc.version": "Phiên bản {n}",
    "doc.class.public": "Công khai",
    "doc.class.internal": "Nội bộ",
    "doc.class.confidential": "Mật",
    "doc.class_hint.public": "Mọi người trong phòng họp, kể cả khách mời",
    "doc.class_hint.internal": "Thành phần tham dự, trừ khách mời",
    "doc.class_hint.confidential": "Chỉ những người được chỉ định; mỗi trang in tên người xem",
    "doc.classification": "Độ mật",
    "doc.viewers": "Người được xem",
    "doc.viewers_hint": "Chủ trì và thư ký thấy tên tài liệu nhưng chỉ người được chọn mới đọc được nội dung.",
    "doc.locked": "Tài liệu mật",
    "doc.locked_detail": "Chỉ những người được chỉ định mới xem được nội dung tài liệu này.",
    "doc.locked_short": "Chỉ người được chỉ định xem được nội dung",
    "doc.manage": "Quản lý tài liệu",
    "doc.rename": "Đổi tên",
    "doc.new_version": "Tải lên phiên bản mới",
    "doc.remove": "Gỡ tài liệu",
    "doc.remove_title": "Gỡ tài liệu?",
    "doc.remove_text": "Tài liệu “{title}” và các ghi chú chung trên đó sẽ bị gỡ khỏi cuộc họp.",
    "doc.save": "Lưu",
    "doc.file": "Tệp tài liệu",
    "doc.file_hint": "PDF, hoặc Word, Excel, PowerPoint, OpenDocument (được chuyển sang PDF).",
    "doc.title_label": "Tên tài liệu",
    "doc.title_placeholder": "Để trống: dùng tên tệp",
    "doc.item": "Thuộc nội dung",
    "doc.upload": "Tải lên",
    "doc.uploading": "Đang tải lên…",
    "doc.uploading_named": "Đang tải lên “{name}”…",
    "doc.attaching": "Đang thêm vào cuộc họp…",
    "doc.added": "Đã thêm tài liệu “{title}”.",
    "doc.version_added": "Đã cập nhật phiên bản mới của “{title}”.",
    "doc.need_file": "Vui lòng chọn tệp tài liệu.",
    "doc.need_viewers": "Tài liệu mật cần chọn ít nhất một người được xem.",

    "viewer.close": "Đóng",
    "viewer.pages": "Trang",
    "viewer.prev": "Trang trước",
    "viewer.next": "Trang sau",
    "viewer.page_of": "Trang {n}/{total}",
    "viewer.go_page": "Đến trang {n}",
    "viewer.thumbs": "Danh sách trang",
    "viewer.zoom_in": "Phóng to",
    "viewer.zoom_out": "Thu nhỏ",
    "viewer.zoom_reset": "Vừa chiều ngang trang",
    "viewer.fullscreen": "Toàn màn hình",
    "viewer.fullscreen_hint": "Chỉ hiển thị trang tài liệu",
    "viewer.exit_fullscreen": "Thoát toàn màn hình",
    "viewer.page_failed": "Không tải được trang này. Vui lòng kiểm tra kết nối mạng.",
    "viewer.removed": "Tài liệu đã được gỡ khỏi cuộc họp.",
    "viewer.save_failed": "Không lưu được ghi chú.",

    "present.start": "Trình chiếu",
    "present.stop": "Dừng trình chiếu",
    "present.take_over": "Trình chiếu thay",
    "present.busy": "Đang có người khác trình chiếu",
    "present.follow": "Theo người trình bày",
    "present.reopen": "Mở lại tài liệu",
    "present.now": "Đang trình chiếu",
    "present.by": "{name} đang trình chiếu",
    "present.you_present": "Bạn đang trình chiếu",
    "present.following": "Đang theo {name}",
    "present.someone": "Người trình bày",
    "present.started_toast": "{name} bắt đầu trình chiếu “{title}”.",
    "present.secret": "Tài liệu mật đang được trình chiếu",
    "present.secret_short": "tài liệu mật",
    "present.secret_title": "Tài liệu mật",
    "present.secret_detail": "{name} đang trình chiếu một tài liệu mật mà bạn không được xem.",
    "present.waiting": "Chưa có tài liệu được trình chiếu",
    "present.waiting_detail": "Trang tài liệu sẽ hiện ở đây khi người trình bày bắt đầu.",

    "ink.tools": "Công cụ ghi chú",
    "ink.scope": "Loại ghi chú",
    "ink.scope_private": "Ghi chú riêng",
    "ink.scope_shared": "Chia sẻ",
    "ink.tool.none": "Di chuyển",
    "ink.tool.pen": "Bút",
    "ink.tool.highlighter": "Đánh dấu",
    "ink.tool.eraser": "Tẩy",
    "ink.tool.note": "Ghi chú",
    "ink.tool.laser": "Con trỏ",
    "ink.colour": "Màu",
    "ink.colour.d32f2f": "Đỏ",
    "ink.colour.1d4f8f": "Xanh dương",
    "ink.colour.1c6b3a": "Xanh lá",
    "ink.colour.15202b": "Đen",
    "ink.colour.ffd400": "Vàng",
    "ink.colour.ff80ab": "Hồng",
    "ink.undo": "Hoàn tác",
    "ink.clear": "Xóa ghi chú trang",
    "ink.clear_title": "Xóa ghi chú trên trang?",
    "ink.clear_private_text": "Mọi ghi chú riêng của bạn trên trang {n} sẽ bị xóa.",
    "ink.clear_shared_text": "Mọi nét chia sẻ của bạn trên trang {n} sẽ bị xóa với tất cả mọi người.",
    "ink.clear_confirm": "Xóa",
    "ink.note_title": "Thêm ghi chú",
    "ink.note_label": "Nội dung ghi chú",
    "ink.note_placeholder": "Ví dụ: đề nghị làm rõ số liệu này",
    "ink.note_add": "Thêm ghi chú",

    "download.title": "Tải về",
    "download.mine": "Tải bản có ghi chú của tôi",
    "download.shared": "Tải bản có ghi chú chung",
    "download.original": "Tải bản gốc",

    "common.cancel": "Hủy",
    "common.close": "Đóng",

    "conn.offline": "Mất kết nối — đang kết nối lại…",
    "conn.retry_in": "Thử lại sau {s} giây",
    "conn.retry_now": "Kết nối lại ngay",
    "conn.connecting": "Đang kết nối…",
    "conn.pending": "{n} thao tác đang chờ gửi",
    "conn.not_online": "Đang mất kết nối, thao tác chưa được gửi. Vui lòng thử lại khi có kết nối.",

  },

  en: {
    "app.name": "Paperless meeting room",
    "app.short": "Meeting room",
    "lang.switch": "Tiếng Việt",
    "lang.switch_label": "Switch to Vietnamese",
    "nav.logout": "Sign out",

    "login.title": "Sign in",
    "login.subtitle": "Use the account issued by your organisation.",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.submitting": "Signing in…",
    "login.wait": "Try again in {s} s",
    "login.required": "Please enter your username and password.",
    "login.footer": "Paperless meetings for public bodies.",

    "error.network": "Cannot reach the server. Please check the network and try again.",
    "error.server": "The server had a problem (code {status}). Please try again later.",
    "error.session_expired": "Your session has expired. Please sign in again.",
    "error.retry": "Try again",
    "error.removed": "You are no longer a participant of this meeting.",
    "error.back": "Back to my meetings",

    "meetings.title": "My meetings",
    "meetings.all": "All meetings",
    "meetings.scope": "Scope",
    "meetings.empty": "There are no meetings yet.",
    "meetings.loading": "Loading meetings…",
    "meetings.count": "{n} meetings",
    "meetings.no_place": "No place set",
    "meetings.group.live": "In session now",
    "meetings.group.upcoming": "Upcoming",
    "meetings.group.ended": "Ended",

    "status.draft": "Draft",
    "status.invited": "Not yet opened",
    "status.in_session": "In session",
    "status.ended": "Ended",

    "role.chair": "Chair",
    "role.secretary": "Secretary",
    "role.delegate": "Delegate",
    "role.invitee": "Invitee",
    "role.presenter": "Presenter",
    "role.site_operator": "Site operator",
    "role.administrator": "Administrator",
    "role.observer": "Observer",

    "room.back": "My meetings",
    "room.loading": "Entering the meeting room…",
    "room.started_at": "Opened at {time}",
    "room.ended_at": "Closed at {time}",
    "room.you_are": "You attend as {role}",

    "quorum.title": "Members present",
    "quorum.count": "{present}/{total}",
    "quorum.members": "voting members",
    "quorum.reached": "Quorum reached",
    "quorum.not_reached": "No quorum yet",
    "quorum.rule_strict": "Required: more than {num}/{den} of all members",
    "quorum.rule_atleast": "Required: at least {num}/{den} of all members",

    "chair.title": "Chair the session",
    "chair.start": "Open the session",
    "chair.next": "Next agenda item",
    "chair.end": "Close the session",
    "chair.end_confirm_title": "Close the session?",
    "chair.end_confirm": "The session ends; the item under discussion and the current speaker stop.",
    "chair.ended": "The session has ended.",

    "agenda.title": "Agenda",
    "agenda.empty": "No agenda items yet.",
    "agenda.status.pending": "Not discussed yet",
    "agenda.status.active": "Under discussion",
    "agenda.status.done": "Done",
    "agenda.status.deferred": "Deferred",
    "agenda.planned": "{n} min planned",
    "agenda.presenter": "Presented by {name}",
    "agenda.activate": "Start discussion",
    "agenda.resume": "Resume discussion",
    "agenda.done": "Finish item",
    "agenda.defer": "Defer",
    "agenda.elapsed": "Time under discussion",
    "agenda.spent": "Discussed for {time}",
    "agenda.over": "Over the planned time",

    "floor.title": "Floor",
    "floor.current": "Has the floor",
    "floor.none": "Nobody has the floor",
    "floor.none_hint": "The chair gives the floor in the order of requests.",
    "floor.remaining": "Time left",
    "floor.overtime": "Over time",
    "floor.of": "Allotted {time}",
    "floor.end": "End the floor",
    "floor.extend": "+{n} min",
    "floor.extend_label": "Give {n} more minutes",
    "floor.request": "Request to speak",
    "floor.request_site": "Request to speak for the site",
    "floor.withdraw": "Withdraw request",
    "floor.you_speaking": "You have the floor",
    "floor.position": "You are number {n} in the queue",
    "floor.only_in_session": "You can request to speak while the session is open.",
    "floor.queue": "Requests to speak",
    "floor.queue_empty": "Nobody has requested to speak.",
    "floor.grant": "Give the floor",
    "floor.remove": "Remove from the queue",
    "floor.requested_at": "Requested at {time}",
    "floor.site": "Site: {name}",
    "floor.granted_you": "The chair has given you the floor.",

    "me.check_in": "Check in",
    "me.checked_in": "Checked in at {time}",
    "me.absent": "Marked absent: {reason}",
    "me.actions": "Your actions",

    "att.title": "Participants",
    "att.present": "Present",
    "att.absent": "Absent",
    "att.absent_reason": "Absent: {reason}",
    "att.pending": "Not checked in",
    "att.summary": "Present {present} · Absent {absent} · Not checked in {pending}",
    "att.search": "Search by name or position",
    "att.no_match": "Nobody matches.",
    "att.roster_hidden": "The list of participants is shown to the chair and the secretary only.",
    "att.more": "Showing {shown} of {total} — type a name to find the others.",
    "att.check_in": "Check in",
    "att.check_in_label": "Check in {name}",
    "att.mark_absent": "Mark absent",
    "att.mark_absent_label": "Mark {name} absent",
    "att.online": "Online",
    "att.offline": "Offline",
    "att.substitute_for": "Substitute for {name}",
    "att.substituted_by": "Substitute: {name}",
    "att.rsvp_absent": "Declined the invitation",
    "att.sites": "Online sites",
    "att.you": "(you)",

    "absent.title": "Mark absent",
    "absent.who": "Member: {name}",
    "absent.reason": "Reason for absence",
    "absent.placeholder": "For example: on a scheduled business trip",
    "absent.submit": "Mark absent",

    "notice.title": "Notices",
    "notice.empty": "No notices yet.",
    "notice.placeholder": "Notice to the participants",
    "notice.post": "Post notice",
    "notice.by": "{name} · {time}",
    "notice.new": "New notice",

    "doc.title": "Meeting documents",
    "doc.empty": "No documents yet.",
    "doc.general": "Documents of the whole meeting",
    "doc.add": "Add a document",
    "doc.open": "Open the document",
    "doc.pages": "{n} pages",
    "doc.version": "Version {n}",
    "doc.class.public": "Public",
    "doc.class.internal": "Internal",
    "doc.class.confidential": "Confidential",
    "doc.class_hint.public": "Everyone in the room, invitees included",
    "doc.class_hint.internal": "Participants, but not invitees",
    "doc.class_hint.confidential": "Only the people named; every page is stamped with the reader's name",
    "doc.classification": "Classification",
    "doc.viewers": "Who may read it",
    "doc.viewers_hint": "The chair and the secretary see the title, but only the people chosen can read it.",
    "doc.locked": "Confidential document",
    "doc.locked_detail": "Only the people named can read this document.",
    "doc.locked_short": "Only the people named can read it",
    "doc.manage": "Manage the document",
    "doc.rename": "Rename",
    "doc.new_version": "Upload a new version",
    "doc.remove": "Remove the document",
    "doc.remove_title": "Remove the document?",
    "doc.remove_text": "“{title}” and the shared marks on it will be removed from the meeting.",
    "doc.save": "Save",
    "doc.file": "Document file",
    "doc.file_hint": "PDF, or Word, Excel, PowerPoint, OpenDocument (converted to PDF).",
    "doc.title_label": "Title",
    "doc.title_placeholder": "Leave empty to use the file name",
    "doc.item": "Agenda item",
    "doc.upload": "Upload",
    "doc.uploading": "Uploading…",
    "doc.uploading_named": "Uploading “{name}”…",
    "doc.attaching": "Adding it to the meeting…",
    "doc.added": "“{title}” was added.",
    "doc.version_added": "“{title}” was updated to a new version.",
    "doc.need_file": "Please choose a file.",
    "doc.need_viewers": "A confidential document needs at least one reader.",

    "viewer.close": "Close",
    "viewer.pages": "Pages",
    "viewer.prev": "Previous page",
    "viewer.next": "Next page",
    "viewer.page_of": "Page {n} of {total}",
    "viewer.go_page": "Go to page {n}",
    "viewer.thumbs": "Pages",
    "viewer.zoom_in": "Zoom in",
    "viewer.zoom_out": "Zoom out",
    "viewer.zoom_reset": "Fit the page width",
    "viewer.fullscreen": "Full screen",
    "viewer.fullscreen_hint": "Show only the page",
    "viewer.exit_fullscreen": "Exit full screen",
    "viewer.page_failed": "This page could not be loaded. Please check the network.",
    "viewer.removed": "The document was removed from the meeting.",
    "viewer.save_failed": "The note could not be saved.",

    "present.start": "Present",
    "present.stop": "Stop presenting",
    "present.take_over": "Present instead",
    "present.busy": "Someone else is presenting",
    "present.follow": "Follow the presenter",
    "present.reopen": "Open the document again",
    "present.now": "Being presented",
    "present.by": "{name} is presenting",
    "present.you_present": "You are presenting",
    "present.following": "Following {name}",
    "present.someone": "The presenter",
    "present.started_toast": "{name} started presenting “{title}”.",
    "present.secret": "A confidential document is being presented",
    "present.secret_short": "a confidential document",
    "present.secret_title": "Confidential document",
    "present.secret_detail": "{name} is presenting a confidential document you may not read.",
    "present.waiting": "Nothing is being presented",
    "present.waiting_detail": "The page will show here when the presenter starts.",

    "ink.tools": "Annotation tools",
    "ink.scope": "Kind of annotation",
    "ink.scope_private": "Private notes",
    "ink.scope_shared": "Shared",
    "ink.tool.none": "Move",
    "ink.tool.pen": "Pen",
    "ink.tool.highlighter": "Highlighter",
    "ink.tool.eraser": "Eraser",
    "ink.tool.note": "Note",
    "ink.tool.laser": "Pointer",
    "ink.colour": "Colour",
    "ink.colour.d32f2f": "Red",
    "ink.colour.1d4f8f": "Blue",
    "ink.colour.1c6b3a": "Green",
    "ink.colour.15202b": "Black",
    "ink.colour.ffd400": "Yellow",
    "ink.colour.ff80ab": "Pink",
    "ink.undo": "Undo",
    "ink.clear": "Clear my page",
    "ink.clear_title": "Clear the page?",
    "ink.clear_private_text": "All your private notes on page {n} will be erased.",
    "ink.clear_shared_text": "All your shared marks on page {n} will be erased for everyone.",
    "ink.clear_confirm": "Clear",
    "ink.note_title": "Add a note",
    "ink.note_label": "Note",
    "ink.note_placeholder": "For example: please explain these figures",
    "ink.note_add": "Add the note",

    "download.title": "Download",
    "download.mine": "Download with my notes",
    "download.shared": "Download with the shared notes",
    "download.original": "Download the original",

    "common.cancel": "Cancel",
    "common.close": "Close",

    "conn.offline": "Connection lost — reconnecting…",
    "conn.retry_in": "Retrying in {s} s",
    "conn.retry_now": "Reconnect now",
    "conn.connecting": "Connecting…",
    "conn.pending": "{n} actions waiting to be sent",
    "conn.not_online": "The connection is down; the action was not sent. Please try again once connected.",

  },
};

/** Languages offered, the first being the default. */
export const LANGS = ["vi", "en"];

let current = readStoredLang();
const listeners = new Set();

function readStoredLang() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return LANGS.includes(stored) ? stored : LANGS[0];
  } catch {
    return LANGS[0];
  }
}

/**
 * The current language code ("vi" or "en").
 * @returns {string}
 */
export function lang() {
  return current;
}

/**
 * The BCP 47 locale used for dates and numbers in the current language.
 * @returns {string}
 */
export function locale() {
  return current === "vi" ? "vi-VN" : "en-GB";
}

/**
 * Switch language, remember it in localStorage and notify listeners.
 * @param {string} code "vi" or "en"
 */
export function setLang(code) {
  if (!LANGS.includes(code) || code === current) return;
  current = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  document.documentElement.lang = code;
  for (const fn of listeners) fn(code);
}

/**
 * Call `fn(code)` whenever the language changes.
 * @param {(code: string) => void} fn
 * @returns {() => void} unsubscribe
 */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Translate a key, filling `{name}` placeholders from `params`.
 * Falls back to Vietnamese, then to the key itself.
 * @param {string} key
 * @param {Object<string, string|number>} [params]
 * @returns {string}
 */
export function t(key, params) {
  const text = STRINGS[current][key] ?? STRINGS.vi[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * Pick the current language from a bilingual server message ({vi, en}).
 * @param {{vi?: string, en?: string}|null|undefined} message
 * @param {string} [fallback] text when the message is missing
 * @returns {string}
 */
export function pick(message, fallback = "") {
  if (!message) return fallback;
  return (message[current] || message.vi || message.en || fallback).normalize("NFC");
}
