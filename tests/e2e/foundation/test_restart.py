"""`make run` starts right after a stop: connections of the stopped run (or of a scrape)
wait in TIME-WAIT on the ports, and neither the port check nor the servers take that for
"in use"; a port another process really listens on is still refused by name."""

import socket
import time
import urllib.request

from services.common.pack import ports_in_use
from tests.support import probe_service
from tests.support.ports import free_port
from tests.support.services import channel_to, running, settings_for


def _leave_in_time_wait(port: int) -> None:
    """A connection to ``port`` closed by the listening side first, which leaves that
    side's end in TIME-WAIT, as a stopped server's connections are."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()
        client.recv(1)  # the server's FIN
        client.close()
    time.sleep(0.1)


def _plain_bind_fails(port: int) -> bool:
    with socket.socket() as plain:
        try:
            plain.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def test_ports_in_time_wait_do_not_count_as_taken(tmp_path):
    grpc_port, http_port = free_port(), free_port()
    for port in (grpc_port, http_port):
        _leave_in_time_wait(port)
        assert _plain_bind_fails(port)  # what the old check did, and why it refused to start
    settings = settings_for(tmp_path, gateway_grpc_port=grpc_port, gateway_http_port=http_port)
    assert ports_in_use(settings, ["gateway"]) == []


def test_a_port_another_process_listens_on_is_named(tmp_path):
    port = free_port()
    settings = settings_for(tmp_path, gateway_http_port=port)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert ports_in_use(settings, ["gateway"]) == [f"gateway: HTTP port {port} is already in use"]


def test_a_service_starts_again_on_the_same_ports_right_after_a_stop(tmp_path):
    settings = settings_for(tmp_path)
    http = f"http://127.0.0.1:{settings.http_port('gateway')}/metrics"
    with running(probe_service.definition, settings) as service, channel_to(service) as channel:
        probe_service.call(channel, "Sleep", b"0")
        urllib.request.urlopen(http, timeout=5).read()
    assert ports_in_use(settings, ["gateway"]) == []
    with running(probe_service.definition, settings) as service, channel_to(service) as channel:
        assert probe_service.call(channel, "Sleep", b"0") == b"slept"
        assert urllib.request.urlopen(http, timeout=5).status == 200
