"""Conventional gRPC server metrics, named and labelled as go-grpc-prometheus and
py-grpc-prometheus do, so existing dashboards work unchanged."""

from prometheus_client import Counter, Histogram

_CALL = ["grpc_type", "grpc_service", "grpc_method"]

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
