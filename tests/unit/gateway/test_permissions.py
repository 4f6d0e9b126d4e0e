"""The permission table: complete, deny by default, and the same as the docs print."""

import pathlib

from gateway import permissions
from services.common.auth import ROLES

DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "gateway.md"


def test_the_docs_print_the_table_the_gateway_enforces():
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- permissions:start -->\n", "<!-- permissions:end -->"
    printed = text[text.index(start) + len(start) : text.index(end)]
    assert printed == permissions.markdown_table(), (
        "paste `python -m gateway.permissions` into docs/gateway.md"
    )


def test_every_listed_method_exists_in_its_contract():
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.Default()
    for full_method in permissions.PERMISSIONS:
        service, method = full_method.lstrip("/").rsplit("/", 1)
        if service == permissions.REFLECTION:
            continue
        assert pool.FindServiceByName(service).methods_by_name[method]


def test_admin_may_call_everything_and_unlisted_methods_nobody():
    assert all("admin" in roles for roles in permissions.PERMISSIONS.values())
    assert (
        permissions.allowed_roles("/retailcare.complaints.v1.ComplaintsService/FileComplaint") == frozenset()
    )
    assert permissions.allowed_roles("/no.such.Service/Call") == frozenset()


def test_each_role_has_its_kind_of_work():
    def methods(role):
        return {m.rsplit("/", 1)[1] for m, roles in permissions.PERMISSIONS.items() if role in roles}

    assert {"GetCustomerProfile", "FileComplaint", "CreateCustomer"} <= methods("service")
    assert "PublishRuleSet" not in methods("service")
    assert {"PublishRuleSet", "ActivateRuleSetVersion", "DryRunRuleSet", "PreviewRuleSetImpact"} <= methods(
        "analyst"
    )
    assert all(m.startswith(("Get", "List", "Diff", "Explain", "Export", "Server")) for m in methods("ops"))
    assert set(ROLES) == {"service", "analyst", "ops", "admin"}


def test_every_method_of_a_relayed_contract_is_decided():
    """A new method of a contract the gateway relays shows up here: grant it to roles
    in the table, or list it as deliberately not relayed."""
    from google.protobuf import descriptor_pool

    not_relayed = {f"/{permissions.COMPLAINTS}/FileComplaint"}  # Gateway.FileComplaint checks first
    pool = descriptor_pool.Default()
    for service in (
        permissions.CLASSIFICATION,
        permissions.COMPLAINTS,
        permissions.EVALUATION,
        permissions.RULE_SET_ADMIN,
    ):
        for method in pool.FindServiceByName(service).methods:
            full_method = f"/{service}/{method.name}"
            assert full_method in permissions.PERMISSIONS or full_method in not_relayed, full_method
