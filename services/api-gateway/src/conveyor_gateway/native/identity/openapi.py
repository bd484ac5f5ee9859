"""OpenAPI paths of users and tokens (``/v1/me``, ``/v1/users``, ``/v1/tokens``)."""

from typing import Any, Final

from ...core.identity_reader import TokenView, UserView
from ..openapi_blocks import BAD_BODY, json_content, path_id, problem
from ..openapi_blocks import body as json_body
from .bodies import Me, TokenCreated, TokenRequest, UserRequest

IDENTITY_SCHEMAS: Final = (Me, TokenCreated, TokenRequest, UserRequest, TokenView, UserView)
_TOKEN_ID: Final = path_id("token_id", "token")
_USER_ID: Final = path_id("user_id", "user")


def _list_of(cls: type, description: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{cls.__name__}"}}},
    }
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _issue(op_id: str, summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "summary": summary,
        "description": "The token is in this response only (`Cache-Control: no-store`); only its SHA-256 is stored.",
        "parameters": params,
        "requestBody": json_body(TokenRequest),
        "responses": {
            "201": json_content(TokenCreated, "The token, usable at once."),
            "202": json_content(TokenCreated, "The token; usable within a second."),
            **BAD_BODY,
            "422": problem("Invalid fields, or a scope the calling token does not have (`/scopes/<i>`)."),
        },
    }


def identity_paths() -> dict[str, Any]:
    return {
        "/v1/me": {
            "get": {
                "operationId": "whoAmI",
                "summary": "The calling user and the scopes of the token used",
                "responses": {"200": json_content(Me, "The caller.")},
            }
        },
        "/v1/tokens": {
            "get": {
                "operationId": "listTokens",
                "summary": "The caller's tokens (never the tokens themselves), newest first",
                "responses": {"200": _list_of(TokenView, "The tokens, revoked ones with `revoked_at`.")},
            },
            "post": _issue(
                "createToken", "A new token for the caller, with a subset of the calling token's scopes", []
            ),
        },
        "/v1/tokens/{token_id}": {
            "delete": {
                "operationId": "revokeToken",
                "summary": "Revoke a token (the caller's own; an admin: anyone's)",
                "description": "Stops working at once on this gateway, within seconds on the others.",
                "parameters": [_TOKEN_ID],
                "responses": {
                    "204": {"description": "Revoked."},
                    "404": problem("No such token (or not yours)."),
                    "422": problem("The id is not a UUID."),
                },
            }
        },
        "/v1/users": {
            "post": {
                "operationId": "createUser",
                "summary": "Create a user (admin)",
                "requestBody": json_body(UserRequest),
                "responses": {
                    "201": json_content(UserView, "The user; give it tokens with POST /v1/users/{id}/tokens."),
                    **BAD_BODY,
                    "409": problem("A user has this name (`user_exists`)."),
                    "422": problem("Invalid fields."),
                },
            },
            "get": {
                "operationId": "listUsers",
                "summary": "List users (admin)",
                "responses": {"200": _list_of(UserView, "Every user.")},
            },
        },
        "/v1/users/{user_id}/tokens": {
            "post": {
                **(issue := _issue("issueUserToken", "A new token for a user (admin)", [_USER_ID])),
                "responses": {**issue["responses"], "404": problem("No such user (`user_not_found`).")},
            },
            "get": {
                "operationId": "listUserTokens",
                "summary": "A user's tokens (admin)",
                "parameters": [_USER_ID],
                "responses": {"200": _list_of(TokenView, "The tokens."), "404": problem("No such user.")},
            },
        },
    }
