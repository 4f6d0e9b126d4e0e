"""The pack behind a gateway (tests/e2e/gateway/conftest.py) and the console on the
gateway's HTTP port, asked over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from retailcare.classification.v1 import classification_pb2 as cpb

from tests.e2e.gateway.conftest import BACKENDS, TOKENS, GatewayPack, complaint, customer


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Console:
    def __init__(self, base: str):
        self.base = base

    def request(self, method: str, path: str, role: str | None = None, body=None, headers=None) -> Answer:
        sent = dict(headers or {})
        if role is not None:
            sent["Authorization"] = f"Bearer {TOKENS[role]}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())


@pytest.fixture
def console_pack(tmp_path):
    pack = GatewayPack(tmp_path)
    try:
        for name in (*BACKENDS, "gateway"):
            pack.start(name)
        yield pack
    finally:
        pack.close()


@pytest.fixture
def console(console_pack) -> Console:
    return Console(f"http://127.0.0.1:{console_pack.settings.http_port('gateway')}")


@pytest.fixture
def populated(console_pack):
    """Two zones of two teams, customers in both, complaints against two of them."""
    admin = console_pack.stubs("admin")
    for code, team in (("Z1", "team-1"), ("Z2", "team-2")):
        zone = cpb.MarketZone(code=code, name=f"Zone {code}", team_id=team)
        admin(admin.classification.UpsertMarketZone, cpb.UpsertMarketZoneRequest(zone=zone))
    service = console_pack.stubs("service")
    shops = [("110101100001", "Z1", 30), ("110101100002", "Z1", 400), ("110101100003", "Z2", 90)]
    for licence, zone, cartons in shops:
        request = cpb.CreateCustomerRequest(
            customer=customer(licence, market_zone=zone, monthly_sales_cartons=cartons)
        )
        service(service.classification.CreateCustomer, request)
    for key, licence in (("c-1", "110101100001"), ("c-2", "110101100003"), ("c-3", "110101100003")):
        service(service.gateway.FileComplaint, complaint(key, licence))
    return console_pack
