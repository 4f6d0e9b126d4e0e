"""The HTTP port's refusals reach a client that sends a whole oversized body, and a
client that promises a body and goes silent does not hold the answer to others."""

import http.client
import socket

import pytest

from services.common.http_endpoints import MAX_BODY_BYTES, HttpEndpoints


@pytest.fixture
def endpoints():
    served = HttpEndpoints("127.0.0.1", 0, is_ready=lambda: True)
    served.start()
    yield served.port
    served.stop()


def post(port: int, body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("POST", "/anything", body=body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES, 8 * MAX_BODY_BYTES])
def test_an_oversized_body_sent_whole_is_answered_413_not_a_broken_pipe(endpoints, size):
    for _ in range(3):
        status, text = post(endpoints, b"x" * size)
        assert status == 413 and b"at most 1 MiB" in text


def test_a_body_within_the_limit_reaches_the_routing(endpoints):
    assert post(endpoints, b"{}")[0] == 404  # no app here: read, then not found


def test_a_silent_client_does_not_block_another(endpoints):
    with socket.create_connection(("127.0.0.1", endpoints)) as silent:
        silent.sendall(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n")
        status, _ = post(endpoints, b"x" * (MAX_BODY_BYTES + 1))
        assert status == 413
