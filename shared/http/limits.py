"""Hostile or careless requests get a clear 4xx that the OpenAPI documents say, never a 500 and
never a bare text: an oversized body (by length or counted as it streams) answers 413 in JSON;
a body JSON cannot hold (a number of thousands of digits) answers 422."""

import json

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class JsonTooLarge:
    """Starlette's body limiter answers 413 in plain text; say it in JSON like every other refusal."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rewriting = False

        async def send_json(message: Message) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == 413:
                types = [v for k, v in message.get("headers", []) if k.lower() == b"content-type"]
                rewriting = bool(types) and types[0].startswith(b"text/plain")
                if rewriting:
                    body = json.dumps({"detail": f"The request body is larger than this route takes "
                                                 f"({self.limit} bytes for JSON; a sheet upload has its own limit)."}).encode()
                    await send({"type": "http.response.start", "status": 413, "headers": [
                        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
            if rewriting:
                return  # the plain-text body, already replaced
            await send(message)

        await self.app(scope, receive, send_json)


async def _unparseable_body(request: Request, exc: StarletteHTTPException) -> Response:
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, ValueError) and "digits" in str(cause):
        return JSONResponse(status_code=422, content={"detail": "The body holds a number too long to be a value "
                                                                "(more than 4300 digits); send the field as the form asks."})
    return await http_exception_handler(request, exc)


def install_limits(app: FastAPI, *, max_body_bytes: int) -> None:
    """The limit counts bytes as they stream in (a chunked body has no length to check first); a
    route that takes more, such as a sheet upload, raises it with its own `max_body_size`."""
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=max_body_bytes)
    app.add_middleware(JsonTooLarge, limit=max_body_bytes)  # added last: the outermost of the two
    app.add_exception_handler(StarletteHTTPException, _unparseable_body)
