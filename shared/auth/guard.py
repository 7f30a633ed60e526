"""The FastAPI side of the policy: every route of a service depends on `caller`, which finds the
route's policy, checks the bearer token (or, for browser pages, the session cookie) and the
caller's roles, and hands the route the Principal it may then scope its records by."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute, iter_route_contexts

from shared.auth.oidc import IssuerUnreachable, TokenRejected, TokenVerifier
from shared.auth.policy import Policy, check_routes, policy_for
from shared.auth.principal import ANONYMOUS, Principal

logger = logging.getLogger("songtor.auth")

SESSION_COOKIE = "songtor_session"


@dataclass
class AuthContext:
    service: str
    verifier: TokenVerifier


class LoginRequired(Exception):
    """A browser page without a session: send the browser to the issuer's login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _challenge(reason: str | None) -> dict[str, str]:
    # RFC 6750 section 3: no error code when no token was sent at all.
    if reason is None:
        return {"WWW-Authenticate": 'Bearer realm="songtor"'}
    safe = reason.replace('"', "'")
    return {"WWW-Authenticate": f'Bearer realm="songtor", error="invalid_token", error_description="{safe}"'}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, detail="Authorization must be 'Bearer <access token>'", headers=_challenge("malformed"))
    return token.strip()


def route_policy(request: Request) -> Policy:
    context: AuthContext = request.app.state.auth
    route = request.scope.get("route")
    policy = policy_for(context.service, request.method, getattr(route, "path", ""))
    if policy is None:  # check_routes makes this unreachable; fail closed all the same
        raise HTTPException(403, detail="This route has no access policy.")
    return policy


def require_json_body(request: Request) -> None:
    """A route that takes a JSON body answers 415 to any other media type (rather than a
    confusing 422 about the parsed bytes)."""
    route = request.scope.get("route")
    if request.method not in ("POST", "PUT", "PATCH") or getattr(route, "body_field", None) is None:
        return
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise HTTPException(415, detail=f"This route takes application/json, not {media or 'a body without a type'}.")


async def caller(request: Request) -> Principal:
    """The dependency every route has: who is calling, allowed by the route's policy."""
    policy = route_policy(request)
    if policy.public or policy.signed_callback:
        require_json_body(request)
        return ANONYMOUS
    token = bearer_token(request)
    from_cookie = False
    # Reads also take the browser's session cookie (the pages and the API calls their scripts
    # make); a change never does, so a cookie cannot carry a change made from another site.
    if token is None and request.method == "GET":
        token = request.cookies.get(SESSION_COOKIE)
        from_cookie = token is not None
        if token is None and policy.page:
            raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if token is None:
        raise HTTPException(401, detail="Sign in: this route needs a bearer token from the identity provider.",
                            headers=_challenge(None))
    context: AuthContext = request.app.state.auth
    try:
        principal = await context.verifier.verify(token)
    except TokenRejected as rejected:
        if policy.page and from_cookie:  # the session's token expired: sign in again
            raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else "")) from rejected
        raise HTTPException(401, detail=f"Token refused: {rejected.reason}", headers=_challenge(rejected.reason)) from rejected
    except IssuerUnreachable as error:
        logger.warning("identity provider unreachable: %s", error)
        raise HTTPException(503, detail="The identity provider cannot be reached to check the token; try again shortly.",
                            headers={"Retry-After": "5"}) from error
    if not policy.allows(principal.roles):
        have = ", ".join(sorted(principal.roles)) or "none"
        need = ", ".join(policy.roles)
        raise HTTPException(403, detail=f"Your roles ({have}) may not use this route; it needs one of: {need}.")
    require_json_body(request)
    request.state.principal = principal
    return principal


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, through included routers."""
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) or context.path == app.openapi_url:
            found += [(method, context.path) for method in sorted(context.methods or ()) if method != "HEAD"]
    return found


_BODY_RESPONSES = {
    413: {"description": "The request body is larger than the route takes"},
    415: {"description": "The body is not of the media type the route takes"},
}
_PAGE_RESPONSES = {303: {"description": "No session: the browser is sent to sign in at the identity provider"}}


def document_answers(routers: Iterable[APIRouter], *, service: str) -> None:
    """Add to each route's OpenAPI responses what the gate itself may answer there, so that every
    answer a route gives is in its document (agencies generate their clients from it). Done on the
    routers before they are included: the app keeps its own view of each route from then on."""
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        extra = {}
        if route.methods & {"POST", "PUT", "PATCH"}:
            extra |= _BODY_RESPONSES
        if any((policy := policy_for(service, method, route.path)) and policy.page for method in route.methods):
            extra |= _PAGE_RESPONSES
        for status, description in extra.items():
            route.responses.setdefault(status, description)


# Every refusal the services give in JSON: a `detail` in words a clerk can act on (FastAPI's own
# validation errors give a list of {loc, msg, type}), and for forms a list of fields to correct.
REFUSAL_SCHEMA = {
    "title": "Refusal", "type": "object", "required": ["detail"],
    "properties": {
        "detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}, {"type": "object"}]},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "value": {}, "reason": {"type": "string"}, "reason_th": {"type": "string"}}}},
    },
}
_HTML_REFUSALS = {"404", "422"}  # a page says these as a page; the gate's own refusals stay JSON


def _document_refusals(operation: dict, *, page: bool) -> None:
    for status, response in operation.get("responses", {}).items():
        if status[:1] not in "45" or "content" in response:
            continue
        if page and status in _HTML_REFUSALS:
            response["content"] = {"text/html": {"schema": {"type": "string"}}}
        else:
            response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}}


_SECURITY_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from the deployment's OpenID Connect issuer (docs/identity.md)."}


def document_security(app: FastAPI, *, service: str) -> None:
    """Each OpenAPI operation says what proves the caller, from its policy: the bearer token, or
    nothing (`security: []`) for the public routes and the agency systems' signed callback — so a
    client generated from the document sends a token exactly where one is needed; and each
    refusal it may give has the Refusal shape (or, on a page, HTML)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = build()
            components = document.setdefault("components", {})
            components.setdefault("securitySchemes", {})["oidc"] = _SECURITY_SCHEME
            components.setdefault("schemas", {})["Refusal"] = REFUSAL_SCHEMA
            for path, operations in document.get("paths", {}).items():
                for method, operation in operations.items():
                    policy = policy_for(service, method.upper(), path)
                    needs_token = policy is not None and not (policy.public or policy.signed_callback)
                    operation["security"] = [{"oidc": []}] if needs_token else []
                    _document_refusals(operation, page=bool(policy and policy.page))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, *, context: AuthContext) -> None:
    """Attach the verifier, refuse a route the policy module does not declare, and say in the
    OpenAPI document which routes take a token."""
    app.state.auth = context
    check_routes(context.service, served_routes(app))
    document_security(app, service=context.service)

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/auth/login?next={quote(exc.next_path, safe='')}", status_code=303)


def out_of_scope(what: str) -> HTTPException:
    """A record the caller does not cover answers as if it did not exist."""
    return HTTPException(status_code=404, detail=f"No {what}")
