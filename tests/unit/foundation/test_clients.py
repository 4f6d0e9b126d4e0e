"""Which downstream codes mean "could not ask", "not there" or "pass it on", how the
downstream deadline is clamped, and the channel's service config."""

import json

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from retailcare.classification.v1 import classification_pb2

from services.common import deadlines
from services.common.clients import (
    DownstreamError,
    DownstreamNotFound,
    DownstreamUnavailable,
    downstream_failure,
    read_methods,
    service_config,
)
from services.common.errors import InvalidArgument, build_status
from services.common.interceptors import current_context
from services.common.metrics import code_label


class _Failed(grpc.RpcError):
    """What a stub raises: a code, a message and the trailing metadata."""

    def __init__(self, status: grpc.Status):
        self._status = status

    def code(self):
        return self._status.code

    def details(self):
        return self._status.details

    def trailing_metadata(self):
        return self._status.trailing_metadata


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_unavailable_and_deadline_exceeded_mean_could_not_ask(code):
    failure = downstream_failure("classification", "GetCustomer", _Failed(build_status(code, "down", [])))
    assert isinstance(failure, DownstreamUnavailable)
    status = failure.to_status()
    assert status.code == grpc.StatusCode.UNAVAILABLE
    assert status.details == "classification unavailable (GetCustomer): down"


def test_not_found_means_not_there_and_keeps_the_downstream_status():
    sent = build_status(grpc.StatusCode.NOT_FOUND, "customer 'L1' not found", [])
    failure = downstream_failure("classification", "GetCustomer", _Failed(sent))
    assert isinstance(failure, DownstreamNotFound)
    assert failure.to_status().code == grpc.StatusCode.NOT_FOUND
    assert failure.to_status().details == "customer 'L1' not found"


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ],
)
def test_every_other_code_is_passed_on(code):
    failure = downstream_failure("complaints", "FileComplaint", _Failed(build_status(code, "no", [])))
    assert type(failure) is DownstreamError
    assert failure.code == code
    assert failure.to_status().code == code


def test_a_passed_on_failure_keeps_its_message_and_details_byte_for_byte():
    sent = InvalidArgument([("licence_number", "must not be empty")]).to_status()
    passed_on = downstream_failure("classification", "GetCustomer", _Failed(sent)).to_status()
    assert passed_on.code == sent.code
    assert passed_on.details == sent.details
    assert passed_on.trailing_metadata == sent.trailing_metadata


def test_a_failure_without_rich_details_is_passed_on_with_its_message():
    failed = _Failed(build_status(grpc.StatusCode.ABORTED, "try again", []))
    failed.trailing_metadata = lambda: ()
    status = downstream_failure("evaluation", "RunPeriod", failed).to_status()
    assert status.code == grpc.StatusCode.ABORTED
    assert status.details == "try again"


def test_unavailable_names_the_service_in_its_error_info():
    status = DownstreamUnavailable("evaluation", "GetResults").to_status()
    info = error_details_pb2.ErrorInfo()
    rpc_status.from_call(_Failed(status)).details[0].Unpack(info)
    assert info.reason == "SERVICE_UNAVAILABLE"
    assert info.metadata["service"] == "evaluation"


class _Context:
    def __init__(self, remaining):
        self._remaining = remaining

    def time_remaining(self):
        return self._remaining


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (None, 5.0),  # no incoming call: the default
        (1e9, 5.0),  # a caller that set no deadline: grpcio reports a huge number
        (2.5, 2.25),  # what the caller left us, less a tenth kept to answer it
        (0.5, 0.45),
        (4.0, 3.75),  # the reserve is at most a quarter second
        (0.0, deadlines.MINIMUM_SECONDS),  # an expired caller still gets a tiny, valid timeout
        (-3.0, deadlines.MINIMUM_SECONDS),
    ],
)
def test_downstream_timeout_is_the_callers_remaining_time_clamped(remaining, expected):
    token = current_context.set(_Context(remaining))
    try:
        assert deadlines.downstream_timeout(5.0) == expected
    finally:
        current_context.reset(token)


def test_downstream_timeout_outside_a_call_is_the_default():
    assert deadlines.downstream_timeout(1.5) == 1.5


def test_service_config_balances_round_robin_and_retries_only_reads():
    contract = classification_pb2.DESCRIPTOR.services_by_name["ClassificationService"]
    config = json.loads(service_config(read_methods(contract)))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    retried = {name["method"] for name in config["methodConfig"][0]["name"]}
    assert {"GetCustomer", "ListCustomers", "GetServiceMenu"} <= retried
    assert not retried & {"CreateCustomer", "ClassifyCustomer", "UpdateCustomer", "ImportCustomers"}
    assert config["methodConfig"][0]["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]


@pytest.mark.parametrize(
    ("code", "label"),
    [
        (grpc.StatusCode.OK, "OK"),
        (grpc.StatusCode.CANCELLED, "Canceled"),
        (grpc.StatusCode.NOT_FOUND, "NotFound"),
        (grpc.StatusCode.INVALID_ARGUMENT, "InvalidArgument"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "DeadlineExceeded"),
        (grpc.StatusCode.UNAVAILABLE, "Unavailable"),
        (grpc.StatusCode.UNAUTHENTICATED, "Unauthenticated"),
    ],
)
def test_code_labels_are_the_go_names(code, label):
    assert code_label(code) == label
