"""A service behind the gateway stops: calls fail fast with UNAVAILABLE naming it (or
leave out the part it holds, where the method says so), /readyz says so, and everything
works again once the service is back."""

import time
import urllib.error
import urllib.request
from concurrent import futures

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.gateway.v1 import gateway_pb2 as pb

from tests.e2e.gateway.conftest import GatewayPack, complaint, customer

LICENCE = "110101100001"
CALL_TIMEOUT = 10.0  # the caller's deadline; an outage must be reported well within it


def _profile(service):
    return service(
        service.gateway.GetCustomerProfile,
        pb.GetCustomerProfileRequest(licence_number=LICENCE),
        timeout=CALL_TIMEOUT,
    )


def _readyz(pack) -> int:
    url = f"http://127.0.0.1:{pack.settings.http_port('gateway')}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def _eventually(check, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except (AssertionError, grpc.RpcError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_without_complaints_the_profile_lists_its_missing_part_and_filing_is_unavailable(pack, service):
    service(service.gateway.FileComplaint, complaint("k-1"))
    assert _readyz(pack) == 200
    pack.stop("complaints")

    profile = _profile(service)
    assert profile.customer.input.licence_number == LICENCE and profile.service_menu
    assert [(m.part, m.service) for m in profile.missing_parts] == [("open_complaints", "complaints")]
    assert not profile.open_complaints
    with pytest.raises(grpc.RpcError) as refused:
        service(service.gateway.FileComplaint, complaint("k-2"), timeout=CALL_TIMEOUT)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "complaints unavailable" in refused.value.details()
    assert _readyz(pack) == 503

    pack.start("complaints")

    def recovered():
        again = _profile(service)
        assert not again.missing_parts and len(again.open_complaints) == 1

    _eventually(recovered)
    assert service(service.gateway.FileComplaint, complaint("k-2")).complaint.id
    assert _readyz(pack) == 200


def test_without_classification_the_profile_is_unavailable_naming_it(pack, service):
    pack.stop("classification")
    for call in (
        lambda: _profile(service),
        lambda: service(service.gateway.FileComplaint, complaint("k-3"), timeout=CALL_TIMEOUT),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            call()
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "classification unavailable" in refused.value.details()

    pack.start("classification")
    _eventually(lambda: _profile(service))


def _hung(service: str, methods: tuple[str, ...]) -> grpc.Server:
    """A service that takes every call of ``methods`` and never answers it."""

    def never(request, context):
        while context.is_active():
            time.sleep(0.05)

    handlers = {method: grpc.unary_unary_rpc_method_handler(never) for method in methods}
    server = grpc.server(futures.ThreadPoolExecutor(8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    return server


def _hung_complaints() -> grpc.Server:
    return _hung("retailcare.complaints.v1.ComplaintsService", ("ListComplaints", "FileComplaint"))


def test_a_service_that_never_answers_costs_at_most_the_deadline(tmp_path):
    """Complaints takes calls and never answers (a hung process): the profile still comes
    with the part listed missing, within the downstream deadline or, when the caller
    allows less, within the caller's; filing is UNAVAILABLE naming complaints."""
    hung = _hung_complaints()
    port = hung.add_insecure_port("127.0.0.1:0")
    hung.start()
    pack = GatewayPack(tmp_path, complaints_target=f"127.0.0.1:{port}", downstream_timeout_seconds=1.5)
    try:
        for name in ("classification", "evaluation", "gateway"):
            pack.start(name)
        admin = pack.stubs("admin")
        admin(
            admin.classification.UpsertMarketZone,
            cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")),
        )
        admin(admin.classification.CreateCustomer, cpb.CreateCustomerRequest(customer=customer(LICENCE)))
        for caller_timeout in (CALL_TIMEOUT, 0.8):
            profile = admin(
                admin.gateway.GetCustomerProfile,
                pb.GetCustomerProfileRequest(licence_number=LICENCE),
                timeout=caller_timeout,
            )
            assert profile.customer.input.licence_number == LICENCE
            assert [(m.part, m.service) for m in profile.missing_parts] == [("open_complaints", "complaints")]
        with pytest.raises(grpc.RpcError) as refused:
            admin(admin.gateway.FileComplaint, complaint("k-1"), timeout=CALL_TIMEOUT)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "complaints unavailable" in refused.value.details()
    finally:
        pack.close()
        hung.stop(0)


def test_a_required_part_that_never_answers_is_unavailable_named_before_the_callers_deadline(tmp_path):
    """Classification hangs: the profile cannot be made without the customer, and the
    caller hears UNAVAILABLE naming classification, not its own DEADLINE_EXCEEDED: the
    gateway gives its downstream call a little less time than the caller gave it."""
    hung = _hung("retailcare.classification.v1.ClassificationService", ("GetCustomer", "GetServiceMenu"))
    port = hung.add_insecure_port("127.0.0.1:0")
    hung.start()
    pack = GatewayPack(tmp_path, classification_target=f"127.0.0.1:{port}", downstream_timeout_seconds=60)
    try:
        pack.start("gateway")
        service = pack.stubs("service")
        with pytest.raises(grpc.RpcError) as refused:
            service(
                service.gateway.GetCustomerProfile,
                pb.GetCustomerProfileRequest(licence_number=LICENCE),
                timeout=4,
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value.details()
        assert "classification" in refused.value.details()
    finally:
        pack.close()
        hung.stop(0)
