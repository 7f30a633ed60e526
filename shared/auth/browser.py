"""Signing in from a browser: the authorization-code flow with PKCE (RFC 7636) against the same
issuer the APIs trust, for the pages (/ops, the printable summaries).

The service is a public client: no client secret is kept. The code verifier and state wait in
a short-lived HttpOnly cookie scoped to /auth; after the exchange the access token is kept in an
HttpOnly, SameSite=Lax session cookie, which only GET pages accept (policy.page), so a cookie can
never carry a change made from another site. When the token expires the page sends the browser
to the issuer again, which signs it straight back in while its own session lasts."""

import base64
import hashlib
import json
import secrets
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.auth.guard import SESSION_COOKIE, AuthContext
from shared.auth.oidc import IssuerUnreachable, TokenRejected

LOGIN_COOKIE = "songtor_login"
_LOGIN_SECONDS = 600


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _safe_next(path: str | None) -> str:
    # Only a path on this service: an open redirect would hand the session to another site.
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _refused(status: int, message: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Sign-in failed</title><p>{message}</p>"
                        '<p><a href="/auth/login">Try again / ลองอีกครั้ง</a></p>', status_code=status)


def browser_login_router() -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["sign-in"], include_in_schema=False)

    @router.get("/login")
    async def login(request: Request, next: str | None = Query(default=None, max_length=2000)) -> Response:  # noqa: A002
        context: AuthContext = request.app.state.auth
        try:
            metadata = await context.verifier.keys.metadata()
        except IssuerUnreachable:
            return _refused(503, "The identity provider cannot be reached. ระบบยืนยันตัวตนไม่ตอบสนอง")
        verifier, challenge = _pkce_pair()
        state = secrets.token_urlsafe(24)
        query = urlencode({
            "response_type": "code", "client_id": context.verifier.settings.web_client_id, "scope": "openid",
            "redirect_uri": str(request.url_for("auth_callback")), "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })
        answer = RedirectResponse(f"{metadata['authorization_endpoint']}?{query}", status_code=303)
        answer.set_cookie(LOGIN_COOKIE, json.dumps({"state": state, "verifier": verifier, "next": _safe_next(next)}),
                          max_age=_LOGIN_SECONDS, httponly=True, samesite="lax", path="/auth",
                          secure=request.url.scheme == "https")
        return answer

    @router.get("/callback", name="auth_callback")
    async def callback(request: Request, code: str | None = Query(default=None, max_length=4000),
                       state: str | None = Query(default=None, max_length=200),
                       error: str | None = Query(default=None, max_length=200)) -> Response:
        context: AuthContext = request.app.state.auth
        if error:
            return _refused(401, f"The identity provider refused the sign-in ({error}).")
        try:
            pending = json.loads(request.cookies.get(LOGIN_COOKIE, ""))
        except ValueError:
            return _refused(400, "This sign-in was not started here, or took too long.")
        if not code or not state or not secrets.compare_digest(state, str(pending.get("state", ""))):
            return _refused(400, "This sign-in was not started here, or took too long.")
        try:
            metadata = await context.verifier.keys.metadata()
            async with httpx.AsyncClient(timeout=context.verifier.settings.http_timeout_seconds) as client:
                exchanged = await client.post(metadata["token_endpoint"], data={
                    "grant_type": "authorization_code", "code": code, "client_id": context.verifier.settings.web_client_id,
                    "redirect_uri": str(request.url_for("auth_callback")), "code_verifier": pending.get("verifier", ""),
                })
        except (IssuerUnreachable, httpx.HTTPError):
            return _refused(503, "The identity provider cannot be reached. ระบบยืนยันตัวตนไม่ตอบสนอง")
        if exchanged.status_code != 200:
            return _refused(401, "The identity provider did not accept the sign-in code.")
        token = exchanged.json().get("access_token", "")
        try:
            await context.verifier.verify(token)
        except (TokenRejected, IssuerUnreachable):
            return _refused(401, "The identity provider's token was not accepted here.")
        answer = RedirectResponse(_safe_next(pending.get("next")), status_code=303)
        answer.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                          secure=request.url.scheme == "https")
        answer.delete_cookie(LOGIN_COOKIE, path="/auth")
        return answer

    @router.get("/logout")
    async def logout(request: Request) -> Response:
        answer = RedirectResponse("/", status_code=303)
        answer.delete_cookie(SESSION_COOKIE, path="/")
        return answer

    return router
