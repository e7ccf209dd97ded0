"""The OpenAPI document, generated from the endpoint table and its pydantic bodies."""

from __future__ import annotations

import re
from typing import Any

from phonghop.meeting_room import EDGE_ONLY

ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "object", "properties": {"vi": {"type": "string"},
                                                     "en": {"type": "string"}}},
        "retryable": {"type": "boolean"},
    },
}


def openapi(endpoints: list[Any], version: str) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document for `endpoints`."""
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        op: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": f"{ep.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', ep.path.lower())}"
            .strip("_"),
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "default": {"description": "Refusal",
                            "content": {"application/json": {"schema": ERROR}}},
            },
        }
        params = re.findall(r"{(\w+)}", ep.path)
        if params:
            op["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "integer"}}
                for p in params
            ]
        if ep.body is not None:
            schema = ep.body.model_json_schema()
            for name in EDGE_ONLY:
                schema.get("properties", {}).pop(name, None)
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": schema}}}
        if not ep.public:
            op["security"] = [{"bearer": []}, {"cookie": []}]
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "phonghop", "version": version,
                 "description": "Paperless meeting server. Live protocol: docs/PROTOCOL.md."},
        "paths": paths,
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "phonghop_session",
                       "description": "Browsers. A state change with the cookie also needs "
                       "its Origin to be the public origin and Content-Type: application/json"
                       " or X-Phonghop-Request: 1 (docs/PROTOCOL.md, the web edge)."},
        }},
    }
