"""Conventional gRPC server and client metrics, named and labelled exactly as
go-grpc-prometheus does, so existing dashboards work unchanged."""

import grpc
from prometheus_client import Counter, Histogram, disable_created_metrics

# Every counter and histogram would also get a ``*_created`` series (its start time), which
# go-grpc-prometheus does not have and no dashboard reads.
disable_created_metrics()

_CALL = ["grpc_type", "grpc_service", "grpc_method"]

# grpc_type label values, keyed by (request streaming, response streaming).
GRPC_TYPES = {
    (False, False): "unary",
    (False, True): "server_stream",
    (True, False): "client_stream",
    (True, True): "bidi_stream",
}


def code_label(code: grpc.StatusCode) -> str:
    """The grpc_code label value: Go's name of the code (``NotFound``, ``Canceled``)."""
    return _GO_CODE_NAMES[code]


_GO_CODE_NAMES = {
    code: "".join(part.capitalize() for part in code.name.split("_")) for code in grpc.StatusCode
}
_GO_CODE_NAMES[grpc.StatusCode.OK] = "OK"
_GO_CODE_NAMES[grpc.StatusCode.CANCELLED] = "Canceled"

STARTED = Counter("grpc_server_started_total", "RPCs started on the server.", _CALL)
HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, regardless of success or failure.",
    [*_CALL, "grpc_code"],
)
HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Response latency of RPCs handled by the server, in seconds.",
    _CALL,
)
MSG_RECEIVED = Counter("grpc_server_msg_received_total", "Stream messages received.", _CALL)
MSG_SENT = Counter("grpc_server_msg_sent_total", "Stream messages sent.", _CALL)

CLIENT_STARTED = Counter("grpc_client_started_total", "RPCs started on the client.", _CALL)
CLIENT_HANDLED = Counter(
    "grpc_client_handled_total",
    "RPCs completed by the client, regardless of success or failure.",
    [*_CALL, "grpc_code"],
)
CLIENT_HANDLING_SECONDS = Histogram(
    "grpc_client_handling_seconds",
    "Latency of RPCs until the client got the final status, in seconds.",
    _CALL,
)
