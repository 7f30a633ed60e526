"""Mutual TLS for real, on this machine: a receiver that requires a client certificate signed by
its CA (a local TLS server, certificates made for the test) gets the target's certificate, and
refuses a target that has none; a receiver whose certificate the target does not trust is not
sent anything. Refusals are answers to retry, as any unreachable receiver's."""

import asyncio
import re
import ssl

import pytest

from shared.delivery.attempts import post
from shared.delivery.target import HttpTarget, http_client
from tests.support.certificates import make_certificates

SECRET = "a-secret-of-sixteen-or-more"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certificates"), client_name="songtor-national-feed")


class Receiver:
    """Answers 204 to any POST from a client whose certificate its CA signed; keeps their names."""

    def __init__(self) -> None:
        self.clients: list[str] = []
        self.url = ""

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            subject = dict(entry[0] for entry in writer.get_extra_info("peercert")["subject"])
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(int(re.search(rb"(?i)content-length: *(\d+)", head).group(1)))
            self.clients.append(subject["commonName"])
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver(certificates):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=certificates.ca)
    context.load_cert_chain(certificates.server_cert, certificates.server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    receiver = Receiver()
    server = await asyncio.start_server(receiver.answer, "127.0.0.1", 0, ssl=context)
    receiver.url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/songtor/feed"
    yield receiver
    server.close()
    await server.wait_closed()


async def send(target: HttpTarget):  # noqa: ANN201
    async with http_client(target) as client:
        return await post(client=client, target=target, body=b'{"n":1}', headers={}, receiver="the national system")


async def test_a_mutual_tls_target_presents_its_client_certificate(certificates, receiver):
    target = HttpTarget(url=receiver.url, signing=False, timeout_seconds=5, ca_file=certificates.ca,
                        client_cert_file=certificates.client_cert, client_key_file=certificates.client_key)
    answer = await send(target)
    assert (answer.status_code, answer.verdict, answer.error) == (204, "delivered", None)
    assert receiver.clients == ["songtor-national-feed"]


async def test_a_receiver_that_requires_a_certificate_refuses_a_target_without_one(certificates, receiver):
    answer = await send(HttpTarget(url=receiver.url, secret=SECRET, timeout_seconds=5, ca_file=certificates.ca))
    assert answer.status_code is None and answer.verdict == "retry"
    assert answer.error.startswith("could not reach the national system (")
    assert receiver.clients == []


async def test_a_receiver_whose_certificate_is_not_trusted_is_sent_nothing(certificates, receiver):
    target = HttpTarget(url=receiver.url, signing=False, timeout_seconds=5,
                        client_cert_file=certificates.client_cert, client_key_file=certificates.client_key)
    answer = await send(target)
    assert answer.verdict == "retry" and answer.error == "could not reach the national system (ConnectError)"
    assert receiver.clients == []
