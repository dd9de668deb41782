"""The OpenAPI schema documents every error response an operation can give, in the one body shape
common.api.exceptions.api_exception_handler answers with, so a client (and the fuzz tests in
tests/fuzz) can rely on the schema for errors as well as for successes.

Which errors an operation can give follows from its view: its authenticators (401), permissions
(403), throttles (429), request body (400, 415), path parameters and pagination (404, 400 for a
filter value). Every operation can answer 406 to an Accept header it cannot satisfy. 500 is never
documented: it is a bug.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny, IsAuthenticated

BODY_METHODS = ("POST", "PUT", "PATCH")
# permissions that refuse only anonymous callers: those get 401, never 403
ANONYMOUS_ONLY_PERMISSIONS = (AllowAny, IsAuthenticated)

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` says what went wrong; token errors also carry a `code` and "
    "the `messages` of each token type tried.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "messages": {"type": "array", "items": {"type": "object", "additionalProperties": {}}},
    },
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Invalid input: each wrong field (or `non_field_errors`) with its messages, or a "
    "`detail` when the body could not be read at all.",
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": {}},
        ]
    },
}
DESCRIPTIONS = {
    "400": "Invalid input; the body names each wrong field or parameter.",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such resource, or no such page.",
    "406": "The Accept header asks for a media type the API does not serve.",
    "415": "The body is not application/json.",
    "429": "Too many requests; retry after the Retry-After seconds.",
}
RESPONSE_HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "description": "The authentication scheme to use.",
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._possible_error_codes():
            responses.setdefault(code, {"description": DESCRIPTIONS[code]})
        for code, response in responses.items():
            if code.startswith("4"):
                self._document_error(code, response)
        return responses

    def _possible_error_codes(self) -> list[str]:
        view = self.view
        has_body = self.method in BODY_METHODS and self.get_request_serializer() is not None
        is_list = self._is_list_view()
        codes = ["406"]
        if has_body or is_list:
            codes.append("400")
        if view.get_authenticators():
            codes.append("401")
        if any(not isinstance(permission, ANONYMOUS_ONLY_PERMISSIONS) for permission in view.get_permissions()):
            codes.append("403")
        if "{" in self.path or (is_list and self._get_paginator()):
            codes.append("404")
        if has_body:
            codes.append("415")
        if view.get_throttles():
            codes.append("429")
        return codes

    def _document_error(self, code: str, response: dict) -> None:
        """The error body every 4xx has (the exception handler's, whatever a view declared), and
        the headers DRF sends with it."""
        name, schema = ("ValidationError", VALIDATION_ERROR_SCHEMA) if code == "400" else ("Error", ERROR_SCHEMA)
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        response["content"] = {media_type: {"schema": component.ref} for media_type in self.map_renderers("media_type")}
        response["description"] = response.get("description") or DESCRIPTIONS.get(code, "")
        if code in RESPONSE_HEADERS:
            response["headers"] = {**RESPONSE_HEADERS[code], **response.get("headers", {})}
