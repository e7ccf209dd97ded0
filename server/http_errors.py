"""Refusals over HTTP: the same codes and bilingual messages as the websocket."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from phonghop.rooms.rejections import Rejection

STATUS = {
    "invalid": 400, "malformed_json": 400, "unknown_command": 400,
    "unauthenticated": 401, "bad_credentials": 401,
    "account_disabled": 403, "own_account": 403, "weak_password": 422,
    "no_trust_roots": 503,
    "forbidden": 403, "not_participant": 403,
    "cross_origin": 403, "content_type": 415,
    "not_found": 404,
    "invalid_state": 409, "conflict": 409, "duplicate": 409, "already_requested": 409,
    "already_checked_in": 409, "not_requested": 409, "no_speaker": 409, "no_next_item": 409,
    "same_version": 409, "not_presenting": 409,
    "confidential_viewers_only": 403, "confidential_text": 403,
    "poll_not_open": 409, "poll_closed": 409, "already_voted": 409, "not_eligible": 403,
    "no_credential": 409, "credential_unreadable": 409, "no_token": 409,
    "edit_conflict": 409, "already_signed": 409, "secretary_first": 409,
    "own_role": 403, "roles_frozen": 409, "role_vacant": 409, "not_substitutable": 409,
    "substituted": 409,
    "invalid_choice": 422, "too_many_choices": 422, "too_few_choices": 422,
    "invalid_ballot": 422, "invalid_partial": 422, "invalid_board_message": 422,
    "board_not_ready": 409, "already_sent": 409,
    "empty_file": 422, "unsupported_type": 415, "encrypted_pdf": 422, "broken_pdf": 422,
    "too_many_pages": 422, "conversion_unavailable": 415, "conversion_failed": 422,
    "render_timeout": 503, "render_failed": 422, "too_complex": 422,
    "verify_timeout": 503,
    "too_large": 413,
    "rate_limited": 429, "too_many_attempts": 429, "busy": 503, "too_many_connections": 429,
    "store_unavailable": 503,
    # not 503: an HTTP client may resend a 503 by itself, which is the one thing not to do
    "outcome_unknown": 500,
    "log_broken": 503, "count_mismatch": 503,
}


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def refuse(rejection: Rejection, headers: dict[str, str] | None = None) -> JSONResponse:
    """The HTTP response for a refusal."""
    return JSONResponse(rejection.to_json(), status_code=STATUS.get(rejection.code, 400),
                        headers=headers)


class Refused(Exception):
    """Raised inside a handler to answer with a refusal."""

    def __init__(self, rejection: Rejection, headers: dict[str, str] | None = None) -> None:
        super().__init__(rejection.code)
        self.rejection = rejection
        self.headers = headers
