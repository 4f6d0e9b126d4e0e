"""The intake's customer check remembers a customer classification confirmed, for a few
seconds (its team as it was then), and never remembers a refusal or an outage: an unknown
licence number is asked about every time, so it is refused until classification knows it."""

import grpc
from retailcare.classification.v1 import classification_pb2 as cpb

from services.common.clients import DownstreamError, DownstreamNotFound, DownstreamUnavailable
from services.complaints import customers
from services.complaints.customers import CustomerDirectory


class _Refusal(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.NOT_FOUND

    def details(self):
        return "no such customer"

    def trailing_metadata(self):
        return ()


class _Classification:
    """Answers from ``known`` (licence -> team); counts the questions."""

    def __init__(self, known: dict[str, str]):
        self.known = known
        self.down = False
        self.asked: list[str] = []

    def get_customer(self, licence_number: str):
        self.asked.append(licence_number)
        if self.down:
            raise DownstreamUnavailable("classification", "GetCustomer")
        if licence_number not in self.known:
            raise DownstreamNotFound("classification", "GetCustomer", _Refusal())
        customer = cpb.Customer(
            input=cpb.CustomerInput(licence_number=licence_number.upper()), team_id=self.known[licence_number]
        )
        return cpb.GetCustomerResponse(customer=customer)


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_known_customer_is_asked_about_once_within_the_memory_then_again():
    classification, clock = _Classification({"l-1": "team-1"}), _Clock()
    directory = CustomerDirectory(classification, known_for=5.0, clock=clock)
    first = directory.check("l-1")
    clock.now += 4.9
    assert directory.check("l-1") == first
    assert (first.known, first.team_id, first.licence_number) == (True, "team-1", "L-1")
    assert classification.asked == ["l-1"]

    classification.known["l-1"] = "team-2"  # its zone went to another team
    clock.now += 0.1
    assert directory.check("l-1").team_id == "team-2"
    assert classification.asked == ["l-1", "l-1"]


def test_an_unknown_licence_is_asked_about_every_time_and_refused_until_known():
    classification, clock = _Classification({}), _Clock()
    directory = CustomerDirectory(classification, known_for=5.0, clock=clock)
    assert directory.check("l-9").known is False
    assert directory.check("l-9").known is False
    classification.known["l-9"] = "team-3"  # created in classification meanwhile
    assert directory.check("l-9").known is True
    assert classification.asked == ["l-9", "l-9", "l-9"]


def test_an_outage_is_not_remembered():
    classification, clock = _Classification({"l-1": "team-1"}), _Clock()
    directory = CustomerDirectory(classification, known_for=5.0, clock=clock)
    classification.down = True
    assert directory.check("l-1").known is None
    classification.down = False
    assert directory.check("l-1").known is True
    assert len(classification.asked) == 2


def test_other_failures_are_passed_on_and_not_remembered():
    class _Failing(_Classification):
        def get_customer(self, licence_number):
            self.asked.append(licence_number)
            raise DownstreamError("classification", "GetCustomer", _Internal())

    class _Internal(_Refusal):
        def code(self):
            return grpc.StatusCode.INTERNAL

    classification = _Failing({})
    directory = CustomerDirectory(classification, known_for=5.0, clock=_Clock())
    for _ in range(2):
        try:
            directory.check("l-1")
        except DownstreamError:
            pass
        else:
            raise AssertionError("an internal failure of classification must reach the caller")
    assert classification.asked == ["l-1", "l-1"]


def test_no_memory_asks_every_time_and_a_full_memory_starts_again(monkeypatch):
    classification, clock = _Classification({"l-1": "t", "l-2": "t", "l-3": "t"}), _Clock()
    directory = CustomerDirectory(classification, known_for=0, clock=clock)
    directory.check("l-1")
    directory.check("l-1")
    assert classification.asked == ["l-1", "l-1"]

    monkeypatch.setattr(customers, "KNOWN_LIMIT", 2)
    classification.asked.clear()
    directory = CustomerDirectory(classification, known_for=5.0, clock=clock)
    for licence in ("l-1", "l-2", "l-3", "l-3", "l-1"):
        directory.check(licence)
    assert classification.asked == ["l-1", "l-2", "l-3", "l-1"]  # l-1 and l-2 forgotten at l-3
