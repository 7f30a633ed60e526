"""A steady stream of intakes from clerks, as the fault tests load the system: each body is sent
until it is accepted, and a refused connection or a lost answer is retried with the same
Idempotency-Key, so nothing is taken in twice whatever fails meanwhile."""

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable

import httpx

from shared.catalog import default_catalog
from tests.support.examples import contract_example, intake_for, thai_national_id

PROVINCE = "64"  # the contract example's Sukhothai


def intake_bodies(count: int, *, seed: int = 2026) -> list[dict]:
    rng = random.Random(seed)
    return [intake_for(thai_national_id(rng)) for _ in range(count)]


def agency_of_need() -> dict[str, str]:
    """Where each need of the contract example goes in its province, by the catalog routing uses."""
    catalog = default_catalog()
    return {need["code"]: catalog.route(need_code=need["code"], province_code=PROVINCE).agency
            for need in contract_example()["needs"]}


async def submit_all(url: str, bodies: list[dict], *, clerk: httpx.Auth,
                     after_each: Callable[[int], Awaitable[None]] | None = None, at_once: int = 8,
                     give_up_after: float = 240.0) -> list[dict]:
    """Every body until it is accepted; the 202 answers, in the order they came. `after_each(n)` is
    awaited after the n-th acceptance (where a test injects its fault)."""
    accepted: list[dict] = []
    semaphore = asyncio.Semaphore(at_once)
    async with httpx.AsyncClient(base_url=url, timeout=30, auth=clerk) as client:

        async def submit(body: dict) -> None:
            key = {"Idempotency-Key": f"fault-{uuid.uuid4()}"}
            async with semaphore:
                deadline = asyncio.get_running_loop().time() + give_up_after
                while True:
                    try:
                        response = await client.post("/v1/intakes", json=body, headers=key)
                        if response.status_code < 500:
                            break
                    except httpx.TransportError:
                        pass
                    if asyncio.get_running_loop().time() > deadline:
                        raise AssertionError(f"an intake was not accepted within {give_up_after:.0f} s")
                    await asyncio.sleep(0.5)
                assert response.status_code == 202, response.text
                accepted.append(response.json())
            if after_each is not None:
                await after_each(len(accepted))

        await asyncio.gather(*(submit(body) for body in bodies))
    return accepted
