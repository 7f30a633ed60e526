"""Group commit of HTTP intakes: the intakes that arrive while a transaction is running share the
next one, so that under load a commit (and its fsync) serves many intakes instead of one.

No intake waits for company: when nothing is running, the first one goes at once, alone. None is
answered before its transaction has committed. A group whose transaction fails before the
commit is split in halves and tried again, down to single intakes that go exactly the way
`submit_one` takes them, so one bad intake (a key another process took at the same moment, or
anything else) costs the others nothing: each gets the answer it would have got alone.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError

from intake.submission import Answer, IntakeDesk, Submission, submit_one, take_in
from shared.db import bound_engine, write_gate

logger = logging.getLogger("songtor.intake")

Outcome = Answer | BaseException


class ServiceStopping(RuntimeError):
    """The service stopped before this intake's group was committed."""


class _CommitFailed(Exception):
    """The commit itself failed: whether it took effect is unknown, so nothing may be retried."""


class GroupCommitter:
    def __init__(self, *, desk: IntakeDesk, max_group: int = 64) -> None:
        self._desk = desk
        self._max_group = max_group
        self._waiting: deque[tuple[Submission, asyncio.Future[Answer]]] = deque()
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, submission: Submission) -> Answer:
        """The intake's answer, once its transaction has committed (or its refusal)."""
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((submission, answer))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name="intake-group-commit")
        return await answer

    async def _drain(self) -> None:
        group: list[tuple[Submission, asyncio.Future[Answer]]] = []
        try:
            while self._waiting:
                taken = min(self._max_group, len(self._waiting))
                group = [self._waiting.popleft() for _ in range(taken)]
                # A client that gave up before its group started is not taken in (as alone).
                group = [(submission, answer) for submission, answer in group if not answer.done()]
                if not group:
                    continue
                outcomes = await self._settle([submission for submission, _ in group])
                self._desk.relay.wake()
                for (_, answer), outcome in zip(group, outcomes, strict=True):
                    if answer.done():
                        continue  # its client went away meanwhile
                    if isinstance(outcome, BaseException):
                        answer.set_exception(outcome)
                    else:
                        answer.set_result(outcome)
                group = []
        finally:
            # Cancelled (the service stops): nobody may wait forever for an answer.
            self._draining = None
            for _, answer in [*group, *self._waiting]:
                if not answer.done():
                    answer.set_exception(ServiceStopping("The service is stopping; send the intake again."))
            self._waiting.clear()

    async def _settle(self, submissions: Sequence[Submission]) -> list[Outcome]:
        if len(submissions) == 1:
            return [await _alone(self._desk, submissions[0])]
        try:
            return await self._commit_group(submissions)
        except _CommitFailed as failed:
            error = failed.__cause__ or failed
            logger.warning("intake group commit failed (%s); %d intakes not acknowledged",
                           type(error).__name__, len(submissions))
            return [error] * len(submissions)
        except Exception as error:  # noqa: BLE001 - rolled back: retried in halves, so it stays with its own
            if _connection_lost(error):
                return [error] * len(submissions)  # nobody's own fault; each would fail alone too
            logger.info("intake group of %d rolled back (%s); retried in halves", len(submissions),
                        type(error).__name__)
        middle = len(submissions) // 2
        return [*await self._settle(submissions[:middle]), *await self._settle(submissions[middle:])]

    async def _commit_group(self, submissions: Sequence[Submission]) -> list[Answer]:
        async with write_gate(bound_engine(self._desk.sessions)), self._desk.sessions() as session:
            answers = await take_in(session, self._desk, submissions)
            # A refusal by the database (e.g. a key another process stored meanwhile) shows here,
            # while the transaction can still be rolled back and retried.
            await session.flush()
            try:
                await session.commit()
            except Exception as error:
                raise _CommitFailed from error
        return answers


async def _alone(desk: IntakeDesk, submission: Submission) -> Outcome:
    try:
        return await submit_one(desk, submission)
    except Exception as error:  # noqa: BLE001 - handed to its own request, which answers 500
        return error


def _connection_lost(error: Exception) -> bool:
    return isinstance(error, DBAPIError) and error.connection_invalidated
