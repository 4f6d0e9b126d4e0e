"""The HTTP port's refusals reach a client that sends a whole oversized body, a client
that promises a body and goes silent does not hold the answer to others, and a request
that fails is logged, not printed as a bare traceback."""

import http.client
import logging
import socket

import pytest

from services.common.http_endpoints import MAX_BODY_BYTES, HttpEndpoints, HttpRequest


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


def _failing_app(error: Exception):
    def app(request: HttpRequest):
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "level"),
    [(RuntimeError("the app broke"), logging.ERROR), (ConnectionResetError(), logging.DEBUG)],
)
def test_a_failed_request_is_logged_and_a_client_gone_away_is_no_news(caplog, capfd, error, level):
    caplog.set_level(logging.DEBUG, logger="retailcare.http")
    served = HttpEndpoints("127.0.0.1", 0, is_ready=lambda: True, app=_failing_app(error))
    served.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=20)
        with pytest.raises(http.client.RemoteDisconnected):
            connection.request("GET", "/console")
            connection.getresponse()
        connection.close()
    finally:
        served.stop()
    records = [r for r in caplog.records if r.name == "retailcare.http"]
    assert [r.levelno for r in records] == [level]
    assert (records[0].exc_info is not None) == (level == logging.ERROR)
    assert "Exception occurred" not in capfd.readouterr().err
