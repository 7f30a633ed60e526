"""Careless or hostile requests against a real server (uvicorn, as deployed): every refusal is
a 4xx in JSON that the route's OpenAPI document lists, never a 500, and a body is cut off at the
limit even when it comes chunked, without a length to check first."""

import httpx
import pytest

pytestmark = pytest.mark.e2e

TRIAGE = "/v1/unroutable/{referral_id}/route"


@pytest.fixture
def routing(start_service):
    return start_service("routing")


def documented(service, path: str, method: str, status: int) -> bool:  # noqa: ANN001
    document = httpx.get(f"{service.url}/openapi.json", timeout=10).json()
    return str(status) in document["paths"][path][method]["responses"]


def test_refusals_are_json_and_documented(routing, identity):
    auth = identity.auth("province-64")
    url = f"{routing.url}{TRIAGE.format(referral_id='r-1')}"
    json_type = {"content-type": "application/json"}

    too_long = httpx.post(url, content=b'{"reason": "' + b"x" * 400_000 + b'"}', headers=json_type, auth=auth, timeout=30)
    assert too_long.status_code == 413 and "larger" in too_long.json()["detail"]

    def chunks():
        for _ in range(400):
            yield b"x" * 1024

    chunked = httpx.post(url, content=chunks(), headers=json_type, auth=auth, timeout=30)
    assert chunked.status_code == 413, chunked.text
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert chunked.json()["detail"]

    wrong_type = httpx.post(url, content=b"agency=skills", headers={"content-type": "text/plain"}, auth=auth)
    assert wrong_type.status_code == 415 and "application/json" in wrong_type.json()["detail"]

    huge_number = httpx.post(url, content=b'{"agency": "skills", "reason": "a long enough reason", "n": ' + b"9" * 5000 + b"}",
                             headers=json_type, auth=auth)
    assert huge_number.status_code == 422 and "digits" in huge_number.json()["detail"]

    huge_query = httpx.get(f"{routing.url}/v1/unroutable", params={"limit": "9" * 3000}, auth=auth)
    assert huge_query.status_code == 422 and huge_query.json()["detail"][0]["loc"] == ["query", "limit"]

    for status in (401, 403, 413, 415, 422):
        assert documented(routing, TRIAGE, "post", status), status
    assert documented(routing, "/v1/unroutable", "get", 422)

    # Nothing of this reached a 500: the service is still well.
    assert httpx.get(f"{routing.url}/health").status_code == 200
