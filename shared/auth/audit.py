"""The audit log of personal data: every answer of a `personal` route (policy.py) that carries
names or national IDs appends who read, when, which route, which scope and how many people —
never the data itself. People are kept only as their pseudonymous person_ref, so an auditor can
ask "who read this person?" without the log holding a national ID.

A personal route says whom its answer carries with `note_people(request, person_refs=...)`, or
`count=` where only a number is known (a filed form, a sheet's error report). The row is written
before the answer leaves: if it cannot be written, or the route forgot to say whom it returns,
the caller gets an error instead of the data (fail closed)."""

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field as PydanticField
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import ids
from shared.auth.guard import AuthContext
from shared.auth.policy import policy_for
from shared.db import stored_utc

logger = logging.getLogger("songtor.audit")


class PersonalDataRead(SQLModel, table=True):
    __tablename__ = "audit_personal_data_reads"

    read_id: str = Field(primary_key=True, max_length=36)
    at: datetime = Field(index=True)
    actor: str = Field(index=True, max_length=255)          # the token's subject
    actor_name: str = Field(max_length=255)                 # its preferred_username, for people reading the log
    service: str = Field(max_length=40)
    method: str = Field(max_length=10)
    route: str = Field(max_length=200)                      # the template, e.g. /v1/reports/sp12
    request_scope: str = Field(max_length=500)              # path and query parameters of the request
    caller_scope: str = Field(max_length=500)               # the provinces / org units / agency the token covers
    status: int
    people: int


class PersonalDataReadPerson(SQLModel, table=True):
    __tablename__ = "audit_personal_data_read_people"

    read_id: str = Field(primary_key=True, max_length=36)
    person_ref: str = Field(primary_key=True, max_length=64, index=True)


TABLES = [PersonalDataRead.__table__, PersonalDataReadPerson.__table__]

_PEOPLE = "audit_people"


def note_people(request: Request, *, person_refs: Iterable[str] | None = None, count: int | None = None) -> None:
    """Say whom this answer carries (person_refs), or how many when they are not known one by one."""
    refs = sorted(set(person_refs)) if person_refs is not None else None
    setattr(request.state, _PEOPLE, (refs, len(refs) if refs is not None else int(count or 0)))


def _request_scope(request: Request) -> str:
    params = {**request.path_params, **dict(request.query_params)}
    return json.dumps(params, ensure_ascii=False, sort_keys=True)[:500]


def audit_middleware(sessions: async_sessionmaker[AsyncSession]) -> Callable:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        context: AuthContext | None = getattr(request.app.state, "auth", None)
        policy = policy_for(context.service, request.method, getattr(route, "path", "")) if context and route else None
        if policy is None or not policy.personal or response.status_code >= 300:
            return response
        principal = getattr(request.state, "principal", None)
        noted = getattr(request.state, _PEOPLE, None)
        if principal is None or noted is None:
            logger.error("personal route %s answered without saying whom it returns; answer withheld", route.path)
            return JSONResponse({"detail": "This answer could not be recorded in the audit log, so it is withheld."},
                                status_code=500)
        refs, people = noted
        read_id = str(uuid.uuid4())
        try:
            async with sessions() as session:
                session.add(PersonalDataRead(
                    read_id=read_id, at=datetime.now(UTC), actor=principal.subject, actor_name=principal.username,
                    service=context.service, method=request.method, route=route.path,
                    request_scope=_request_scope(request), caller_scope=principal.describe_scope()[:500],
                    status=response.status_code, people=people,
                ))
                for ref in refs or ():
                    session.add(PersonalDataReadPerson(read_id=read_id, person_ref=ref))
                await session.commit()
        except Exception:  # noqa: BLE001 - any failure to record means no data goes out
            logger.exception("audit log write failed; answer withheld")
            return JSONResponse({"detail": "The audit log cannot be written right now, so the answer is withheld; "
                                 "try again shortly."}, status_code=503)
        return response

    return middleware


class PersonSearch(BaseModel):
    national_id: str = PydanticField(pattern=r"^\d{13}$", description="The person's 13-digit ID; only its "
                                     "keyed hash is compared, the ID is neither stored nor logged.")
    since: datetime | None = None
    until: datetime | None = None


def _read_view(row: PersonalDataRead) -> dict:
    return {"read_id": row.read_id, "at": stored_utc(row.at).isoformat(), "actor": row.actor,
            "actor_name": row.actor_name, "service": row.service, "method": row.method, "route": row.route,
            "request_scope": json.loads(row.request_scope) if row.request_scope.startswith("{") else row.request_scope,
            "caller_scope": row.caller_scope, "status": row.status, "people": row.people}


def audit_router(*, sessions: async_sessionmaker[AsyncSession], person_ref_key: str) -> APIRouter:
    router = APIRouter(prefix="/v1/audit", tags=["audit"])

    async def reads(*, actor: str | None, since: datetime | None, until: datetime | None,
                    person_ref: str | None, limit: int) -> list[dict]:
        query = select(PersonalDataRead).order_by(col(PersonalDataRead.at).desc()).limit(limit)
        if actor:
            query = query.where((PersonalDataRead.actor == actor) | (PersonalDataRead.actor_name == actor))
        if since:
            query = query.where(PersonalDataRead.at >= since)
        if until:
            query = query.where(PersonalDataRead.at < until)
        if person_ref:
            query = query.join(PersonalDataReadPerson, PersonalDataReadPerson.read_id == PersonalDataRead.read_id) \
                .where(PersonalDataReadPerson.person_ref == person_ref)
        async with sessions() as session:
            return [_read_view(row) for row in (await session.exec(query)).all()]

    @router.get("/reads", summary="Reads of personal data on this service, newest first (auditor)")
    async def list_reads(
        actor: str | None = Query(default=None, max_length=255, description="Subject or user name of the reader"),
        since: datetime | None = Query(default=None, description="From this time (ISO 8601)"),
        until: datetime | None = Query(default=None, description="Before this time (ISO 8601)"),
        limit: int = Query(default=200, ge=1, le=5000),
    ) -> dict:
        return {"reads": await reads(actor=actor, since=since, until=until, person_ref=None, limit=limit)}

    @router.post("/reads/of-person", summary="Reads whose answer carried this person (auditor); the ID goes in "
                 "the body so that it never appears in a URL or an access log")
    async def reads_of_person(search: PersonSearch, limit: int = Query(default=200, ge=1, le=5000)) -> dict:
        ref = ids.person_ref(national_id=search.national_id, key=person_ref_key)
        return {"reads": await reads(actor=None, since=search.since, until=search.until, person_ref=ref, limit=limit)}

    return router


def install_audit(app: FastAPI, *, sessions: async_sessionmaker[AsyncSession]) -> None:
    app.middleware("http")(audit_middleware(sessions))
