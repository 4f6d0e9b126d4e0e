"""The console on the gateway's HTTP port: its static files under /console/ and its JSON
API under /console/api/.

Each API route names the gRPC methods it performs; a request is let in only when the
gateway's one permission table (gateway/permissions.py) grants all of them to the role of
the bearer token it carries, so the console refuses exactly what the gRPC door refuses
(401 for a missing, malformed or unknown token, 403 for a role the table does not list).
The token travels only in the Authorization header (never a cookie), and a POST must be
``application/json``: a page of another site can send neither without the browser's
preflight, which this port never grants, so no CSRF token is needed."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import grpc

from gateway import permissions
from gateway.console.http import error_reply, json_reply, problem
from gateway.console.overview import Overview
from gateway.console.rule_sets import RuleSetConsole
from gateway.console.static import static_reply
from services.common.auth import AUTHORIZATION_HEADER, Authorizer, Grant, TokenStore
from services.common.errors import DomainError
from services.common.http_endpoints import HttpReply, HttpRequest

log = logging.getLogger("retailcare.console")

PREFIX = "/console"
API = f"{PREFIX}/api/"
RULES = f"/{permissions.RULE_SET_ADMIN}/"
LIST_CUSTOMERS = f"/{permissions.CLASSIFICATION}/ListCustomers"
LIST_COMPLAINTS = f"/{permissions.COMPLAINTS}/ListComplaints"
PREVIEW_IMPACT = f"/{permissions.CLASSIFICATION}/PreviewRuleSetImpact"
GET_CUSTOMER = f"/{permissions.CLASSIFICATION}/GetCustomer"
CUSTOMER_FACTS = f"/{permissions.CLASSIFICATION}/GetCustomerFacts"
LICENCE = re.compile(r"[A-Za-z0-9_.-]{1,40}")
RECLASSIFICATION_JOB = f"/{permissions.CLASSIFICATION}/GetReclassificationJob"
LIST_ZONES = f"/{permissions.CLASSIFICATION}/ListMarketZones"
TEAM_OVERVIEW = f"/{permissions.GATEWAY}/GetTeamOverview"
GET_PERIOD = f"/{permissions.EVALUATION}/GetPeriod"
GET_TEAM = f"/{permissions.EVALUATION}/GetTeam"
LIST_VISIT_CARDS = f"/{permissions.EVALUATION}/ListVisitCards"
LIST_FINDINGS = f"/{permissions.EVALUATION}/ListFindings"
LIST_RETURN_VISITS = f"/{permissions.EVALUATION}/ListReturnVisitTasks"
PERIOD = re.compile(r"[A-Za-z0-9_.-]{1,64}")
NAME = r"(?P<name>[A-Za-z0-9_.-]{1,100})"
MAX_TEXT = 262144


class BadRequest(Exception):
    def __init__(self, field: str, why: str):
        super().__init__(f"{field}: {why}")
        self.field, self.why = field, why


@dataclass(frozen=True)
class Call:
    """What a handler gets: the path's parts, the query, the JSON body and who calls."""

    params: dict[str, str]
    query: dict[str, str]
    body: dict
    grant: Grant

    def text(self, field: str, required: bool = True, limit: int = MAX_TEXT) -> str:
        value = self.body.get(field, "")
        if not isinstance(value, str):
            raise BadRequest(field, "must be a string")
        if required and not value.strip():
            raise BadRequest(field, "is required")
        if len(value) > limit:
            raise BadRequest(field, f"at most {limit} characters")
        return value

    def number(self, field: str, source: dict | None = None) -> int:
        value = (self.query if source is None else source).get(field)
        if isinstance(value, bool) or value is None or (isinstance(value, float) and not value.is_integer()):
            raise BadRequest(field, "is required: a version number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise BadRequest(field, "must be a whole number") from None
        if not 0 <= number < 2**31:
            raise BadRequest(field, "must be a version number")
        return number

    def moment(self, field: str) -> datetime | None:
        """An ISO 8601 moment with its offset (e.g. 2026-12-01T06:00:00Z), or None when absent."""
        value = self.body.get(field)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > 40:
            raise BadRequest(field, "must be an ISO 8601 date and time with its offset")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadRequest(field, "must be an ISO 8601 date and time with its offset") from None
        if moment.tzinfo is None:
            raise BadRequest(field, "needs its offset from UTC (e.g. Z or +08:00)")
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is past the year 9999 in UTC
            raise BadRequest(field, "must be between the years 1970 and 2100") from None
        if not 1970 <= moment.year < 2100:
            raise BadRequest(field, "must be between the years 1970 and 2100")
        return moment

    def period(self, required: bool = True) -> str:
        value = self.query.get("period", "").strip()
        if not value and not required:
            return ""
        if not PERIOD.fullmatch(value):
            raise BadRequest("period", "is required: a period id such as 2026-11")
        return value

    @property
    def actor(self) -> str:
        """Who acts, as the token file names it: its label, else its role."""
        return self.grant.label or self.grant.role


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    grpc_methods: tuple[str, ...]  # what the route performs: all must be granted
    handle: Callable[[Call], dict]


def _query(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


class ConsoleApp:
    """The gateway's HttpApp for /console."""

    def __init__(self, tokens: TokenStore, rule_sets: RuleSetConsole, overview: Overview):
        self.tokens = tokens
        self.authorizer = Authorizer(tokens, permissions.allowed_roles)
        self.routes = _routes(rule_sets, overview)

    def __call__(self, request: HttpRequest) -> HttpReply | None:
        if request.path == PREFIX:
            return HttpReply(308, b"", "text/plain", (("Location", f"{PREFIX}/"),))
        if not request.path.startswith(f"{PREFIX}/"):
            return None
        if not request.path.startswith(API):
            return static_reply(request.method, request.path.removeprefix(f"{PREFIX}/"))
        try:
            return self._api(request)
        except BadRequest as bad:
            return problem(400, str(bad), [(bad.field, bad.why)], "INVALID_ARGUMENT")
        except DomainError as error:
            return error_reply(error)
        except Exception:  # noqa: BLE001 - the browser gets no stack trace
            log.exception("console request failed", extra={"path": request.path})
            return problem(500, "internal error; see the gateway's log", code="INTERNAL")

    def _api(self, request: HttpRequest) -> HttpReply:
        path = request.path.removeprefix(API)
        matched = [(route, route.pattern.fullmatch(path)) for route in self.routes]
        matched = [(route, match) for route, match in matched if match]
        if not matched:
            return problem(404, f"no console API at {request.path}", code="NOT_FOUND")
        route, match = next(((r, m) for r, m in matched if r.method == request.method), (None, None))
        if route is None:
            return problem(
                405, f"{request.method} is not served at {request.path}", code="METHOD_NOT_ALLOWED"
            )
        grant, refused = self._check(request, route.grpc_methods)
        if refused is not None:
            return refused
        body = self._body(request)
        return json_reply(200, route.handle(Call(match.groupdict(), _query(request.query), body, grant)))

    def _check(self, request: HttpRequest, methods: tuple[str, ...]) -> tuple[Grant | None, HttpReply | None]:
        header = request.headers.get(AUTHORIZATION_HEADER)
        metadata = [] if header is None else [(AUTHORIZATION_HEADER, header)]
        for method in methods:
            refusal = self.authorizer.refusal(method, metadata)
            if refusal is not None:
                status = 401 if refusal.code == grpc.StatusCode.UNAUTHENTICATED else 403
                log.warning("console refused", extra={"method": method, "reason": refusal.reason})
                return None, problem(status, refusal.message, code=refusal.reason.upper())
        scheme, _, token = (header or "").partition(" ")
        grant = self.tokens.grant_for(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if grant is None:
            return None, problem(
                401, "send Authorization: Bearer <a valid gateway token>", code="UNKNOWN_TOKEN"
            )
        return grant, None

    @staticmethod
    def _body(request: HttpRequest) -> dict:
        if request.method != "POST":
            return {}
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise BadRequest("content-type", "must be application/json")
        try:
            body = json.loads(request.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadRequest("body", "is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("body", "must be a JSON object")
        return body


def _permitted(grant: Grant) -> dict[str, bool]:
    """What the console may offer this role, from the permission table."""
    return {
        method.rpartition("/")[2]: grant.role in permissions.allowed_roles(method)
        for method in (
            *(f"{RULES}{name}" for name in permissions.methods_of(permissions.RULE_SET_ADMIN)),
            PREVIEW_IMPACT,
            RECLASSIFICATION_JOB,
            GET_CUSTOMER,
            LIST_CUSTOMERS,
            LIST_COMPLAINTS,
            TEAM_OVERVIEW,
            LIST_VISIT_CARDS,
            LIST_FINDINGS,
        )
    }


def _facts(call: Call) -> dict:
    facts = call.body.get("facts", {})
    if not isinstance(facts, dict):
        raise BadRequest("facts", "must be an object of input name -> value")
    return facts


def _grouping(call: Call) -> str:
    by = call.query.get("by", "team")
    if by not in ("team", "zone"):
        raise BadRequest("by", "must be team or zone")
    return by


def _licence(call: Call) -> str:
    licence = call.query.get("licence", "").strip()
    if not LICENCE.fullmatch(licence):
        raise BadRequest("licence", "is required: a customer's licence number")
    return licence


def _measure(call: Call) -> str:
    measure = call.query.get("measure", "star")
    if measure not in ("star", "grade"):
        raise BadRequest("measure", "must be star or grade")
    return measure


def _routes(rules: RuleSetConsole, overview: Overview) -> list[Route]:
    def route(method: str, pattern: str, grpc_methods: tuple[str, ...], handle) -> Route:
        return Route(method, re.compile(pattern), grpc_methods, handle)

    return [
        # Any valid token: who am I and what may I do (the table, for the buttons).
        route("GET", "session", (), lambda c: {"role": c.grant.role, "actor": c.actor, "may": _permitted(c.grant)}),
        route("GET", "rule-sets", (f"{RULES}ListRuleSets", f"{RULES}ListScheduledActivations"), lambda c: rules.list()),
        route("GET", f"rule-sets/{NAME}/versions", (f"{RULES}ListRuleSetVersions",), lambda c: rules.versions(c.params["name"])),
        route(
            "GET",
            rf"rule-sets/{NAME}/versions/(?P<version>\d{{1,9}})",
            (f"{RULES}GetRuleSetVersion",),
            lambda c: rules.version(c.params["name"], int(c.params["version"])),
        ),
        route("GET", f"rule-sets/{NAME}/audit", (f"{RULES}ListRuleSetAudit",), lambda c: rules.audit(c.params["name"])),
        route(
            "GET",
            f"rule-sets/{NAME}/diff",
            (f"{RULES}DiffRuleSetVersions",),
            lambda c: rules.diff(c.params["name"], c.number("from"), c.number("to")),
        ),
        route("POST", "rule-sets/validate", (f"{RULES}ValidateRuleSet",), lambda c: rules.validate(c.text("source"), c.text("editing", required=False, limit=100))),
        route(
            "POST",
            "rule-sets/dry-run",
            (f"{RULES}DryRunRuleSet",),
            lambda c: rules.dry_run(c.text("source"), _facts(c), c.text("editing", required=False, limit=100)),
        ),
        route("POST", "rule-sets/preview", (PREVIEW_IMPACT,), lambda c: rules.preview_impact(c.text("source"))),
        route(
            "POST",
            "rule-sets/publish",
            (f"{RULES}PublishRuleSet",),
            lambda c: rules.publish(
                c.text("source"), c.actor, c.text("comment", required=False, limit=1000), c.moment("activate_at")
            ),
        ),
        route(
            "GET",
            f"rule-sets/{NAME}/scheduled",
            (f"{RULES}ListScheduledActivations",),
            lambda c: rules.scheduled(c.params["name"]),
        ),
        route(
            "POST",
            f"rule-sets/{NAME}/cancel",
            (f"{RULES}CancelScheduledActivation",),
            lambda c: rules.cancel(
                c.params["name"], c.number("version", c.body), c.actor, c.text("comment", required=False, limit=1000)
            ),
        ),
        route(
            "GET",
            f"rule-sets/{NAME}/customer-facts",
            (CUSTOMER_FACTS,),
            lambda c: rules.customer_facts(c.params["name"], _licence(c)),
        ),
        route("GET", f"rule-sets/{NAME}/job", (RECLASSIFICATION_JOB,), lambda c: rules.job(c.params["name"])),
        route(
            "POST",
            f"rule-sets/{NAME}/activate",
            (f"{RULES}ActivateRuleSetVersion",),
            lambda c: rules.activate(
                c.params["name"], c.number("version", c.body), c.actor, c.text("comment", required=False, limit=1000)
            ),
        ),
        route("GET", "overview/customers", (LIST_CUSTOMERS,), lambda c: overview.customers(_grouping(c), _measure(c))),
        route("GET", "overview/complaints", (LIST_COMPLAINTS,), lambda c: overview.open_complaints()),
        route("GET", "overview/teams", (TEAM_OVERVIEW, LIST_ZONES, GET_PERIOD), lambda c: overview.teams(c.period())),
        route(
            "GET",
            "overview/items",
            (LIST_ZONES, GET_TEAM, GET_PERIOD, LIST_VISIT_CARDS),
            lambda c: overview.items(c.period()),
        ),
        route(
            "GET",
            "overview/supervision",
            (LIST_FINDINGS, LIST_RETURN_VISITS, LIST_ZONES),
            lambda c: overview.supervision(c.period(required=False)),
        ),
    ]  # fmt: skip


def markdown_routes() -> str:
    """The console API's routes as docs/console.md prints them (a test keeps the two equal;
    ``python -m gateway.console.api`` prints it): each with the gRPC methods it performs
    and the roles the permission table grants all of them."""
    lines = ["| route | gRPC methods it performs | roles |", "|---|---|---|"]
    for route in _routes(None, None):  # type: ignore[arg-type] - the handlers are not called
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route.pattern.pattern)
        if route.grpc_methods:
            roles = frozenset.intersection(*(permissions.allowed_roles(m) for m in route.grpc_methods))
            granted = ", ".join(role for role in permissions.ROLES if role in roles)
        else:
            granted = "any valid token"
        methods = ", ".join(m.rpartition("/")[2] for m in route.grpc_methods) or "-"
        lines.append(f"| `{route.method} {API}{path}` | {methods} | {granted} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_routes())
