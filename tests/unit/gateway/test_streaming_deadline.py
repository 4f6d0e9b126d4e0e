"""How long the gateway lets a relayed call take downstream: a unary call at most
downstream_timeout_seconds, a server-streaming reply (which grows with the data) the
caller's remaining time up to STREAMING_SECONDS; both keep a reserve to answer."""

import pytest

from gateway.downstream import STREAMING_SECONDS, Downstream
from services.common.interceptors import current_context


class Caller:
    def __init__(self, remaining: float):
        self.remaining = remaining

    def time_remaining(self) -> float:
        return self.remaining


@pytest.fixture
def downstream():
    return Downstream("classification", channel=None, default_timeout_seconds=5.0)


def test_without_a_caller_a_stream_gets_the_streaming_ceiling(downstream):
    assert downstream.call_options() == {"timeout": 5.0}
    assert downstream.call_options(streaming=True) == {"timeout": STREAMING_SECONDS}


@pytest.mark.parametrize(
    ("remaining", "unary", "streaming"),
    [(120.0, 5.0, 119.75), (2.0, 1.8, 1.8), (10_000.0, 5.0, STREAMING_SECONDS)],
)
def test_the_callers_remaining_time_bounds_both(downstream, remaining, unary, streaming):
    token = current_context.set(Caller(remaining))
    try:
        assert downstream.call_options()["timeout"] == pytest.approx(unary)
        assert downstream.call_options(streaming=True)["timeout"] == pytest.approx(streaming)
    finally:
        current_context.reset(token)
