"""Schemathesis against a live sandbox: every operation of /openapi.json, every response check.

Schemathesis's own engine runs here (what `schemathesis run` does in CI): its examples,
coverage (boundary values, negative values, duplicated query parameters, unexpected
methods), fuzzing and stateful phases, at most MAX_EXAMPLES generated cases per operation,
with a fixed seed and derandomized generation. A run passes only with zero failures of
any check: no 5xx, every body matching its declared schema and media type, every
documented header, negative data rejected, unsupported methods refused with `Allow`, …
The session summary prints how many cases each run sent. Run again, the same suite sends
the same cases (bar the random ids the server hands out); only the stateful phase's step
count shifts with what else the process has imported (84 steps for this module alone,
200 to 300 in the whole suite when this was written).

The pytest integration (`schemathesis.pytest.from_fixture`) needs a private attribute
pytest 9.2 no longer has (`Node._nodeid`), so the engine is driven directly and its
events collected; the failures come back in the assertion message.

The authorization endpoint (`/oauth/authorize`) refuses a bad request in one of two ways
(RFC 6749 §4.1.2.1): an error page (400) while it cannot trust the client and redirect URI,
and once it can, a redirect to the client with `error=` in its query. So there, and only
there, `negative_data_rejection` also takes a 302, and `refusals_redirect_with_an_error`
holds each such 302 to carrying the error.

`status_code_conformance` accepts any status once an operation has a `default` response,
and flask-smorest documents `default: Error` on every operation, so that check alone
could never fail. `explicitly_documented_status` below holds every status to the codes
the operation lists by number.

Left out, and why:

- `positive_data_acceptance` expects every schema-valid request to succeed, which an
  opaque signed cursor (`cursor=000…` is schema-valid and a documented 400), a date range
  whose `to` precedes `from`, or a personal access token for a tenant that does not exist
  (a documented 422) cannot do; OpenAPI 3.0 has no way to say any of the three.
- The run keeps one access token valid throughout, so the calls that would end it or
  expire it (`POST /sandbox/reset`, `POST /sandbox/data`, clock freeze, advance and
  unfreeze, and session revocation, which schemathesis aims at real session ids), and
  `POST /sandbox/faults`, whose faults answer /v1 with 5xx on purpose, run in a second
  engine run against a server of their own, with the admin key only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.specs.openapi.checks import skips_on_unexpected_http_status

from messpunkt.testing import FROZEN_AT, LiveServer, obtain_tokens

ADMIN_KEY = "fuzz-admin-key"
MAX_EXAMPLES = 40
SEED = 20261123
# The calls that reset the sandbox, move its clock or end sessions (see the module docstring).
STATE_CHANGING = (
    r"^POST /sandbox/(reset|data|faults|clock/(freeze|advance|unfreeze)"
    r"|sessions/\{session_id\}/revoke)$"
)
STATEFUL = "Stateful tests"  # the label of the stateful phase's sequences
STATE_CHANGING_OPERATIONS = {
    "POST /sandbox/reset",
    "POST /sandbox/data",
    "POST /sandbox/clock/freeze",
    "POST /sandbox/clock/advance",
    "POST /sandbox/clock/unfreeze",
    "POST /sandbox/sessions/{session_id}/revoke",
    "POST /sandbox/faults",
}


# The checks (no 5xx, every body, media type, header and status as documented),
# the stricter status check below, and the two that probe bad requests.
REQUIRED_CHECKS = {
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "explicitly_documented_status",
    "content_type_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "refusals_redirect_with_an_error",
}
# What negative_data_rejection takes by default, and at the authorization endpoint a 302.
REJECTED = [400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, "5xx"]


class UndocumentedStatus(AssertionError):
    """A status the operation does not list by number (its `default` does not count)."""


@schemathesis.check
@skips_on_unexpected_http_status  # probes of methods and media types the operation lacks
def explicitly_documented_status(ctx: Any, response: Any, case: Any) -> None:
    listed = [code for code in case.operation.responses.status_codes if code != "default"]
    if str(response.status_code) not in listed:
        raise UndocumentedStatus(
            f"{case.operation.label} answered {response.status_code}; it lists {', '.join(listed)}"
        )


class RefusalWithoutError(AssertionError):
    """A bad authorization request redirected to the client without naming the error."""


@schemathesis.check
@skips_on_unexpected_http_status
def refusals_redirect_with_an_error(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative or response.status_code != 302:
        return
    location = response.headers.get("location", [""])[0]
    if "error" not in parse_qs(urlsplit(location).query):
        raise RefusalWithoutError(f"{case.operation.label} redirected a bad request to {location}")


@dataclass
class Run:
    """What one engine run sent, what came back, and what failed."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    def summary(self) -> str:
        operations = len(set(self.cases) - {STATEFUL})
        return (
            f"{self.total} cases ({self.cases[STATEFUL]} of them in stateful sequences) over "
            f"{operations} operations, {sum(self.checks.values())} checks run, "
            f"{len(self.failures)} failures"
        )


def _config(headers: dict[str, str], *, fuzzes_authorize: bool = False) -> schemathesis.Config:
    # Only for the run that fuzzes the authorization endpoint: in schemathesis 4.32 a
    # per-operation setting also undoes `schema.include`.
    authorize = {
        "include-path": "/oauth/authorize",
        "checks": {"negative_data_rejection": {"expected-statuses": [*REJECTED, 302]}},
    }
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},  # no .schemathesis/ directory, nothing from earlier runs
            "headers": headers,
            "workers": 1,
            "continue-on-failure": True,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"coverage": {"generate-duplicate-query-parameters": True}},
            "checks": {"enabled": True, "positive_data_acceptance": {"enabled": False}},
            "operations": [authorize] if fuzzes_authorize else [],
        }
    )


def _describe(recorder: Any, case_id: str, check: Any) -> str:
    failure = check.failure_info.failure if check.failure_info else None
    interaction = recorder.interactions.get(case_id)
    lines = [f"{recorder.label}: {check.name}: {getattr(failure, 'title', '')}"]
    if failure is not None:
        lines.append(f"  {failure.message}".replace("\n", "\n  "))
    if interaction is not None:
        request, response = interaction.request, interaction.response
        lines.append(f"  {request.method} {request.uri[:300]}")
        if request.body:
            lines.append(f"  body {request.body[:300]!r}")
        if response is not None:
            lines.append(f"  -> {response.status_code} {response.content[:300]!r}")
    return "\n".join(lines)


def execute(schema: Any) -> Run:
    """Run schemathesis's engine over `schema` and collect every case, status and failure."""
    run = Run()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            run.cases[recorder.label] += len(recorder.cases)
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    run.statuses[(recorder.label, interaction.response.status_code)] += 1
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    run.checks[check.name] += 1
                    if check.status != schemathesis.engine.Status.SUCCESS:
                        run.failures.append(_describe(recorder, case_id, check))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            run.errors.append(str(getattr(event, "info", None) or event.exception))
    return run


def _unique(failures: list[str]) -> str:
    return "\n\n".join(dict.fromkeys(failures))


# Reporting ---------------------------------------------------------------------------------------

REPORT = pytest.StashKey[list[str]]()


class _Summary:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section("schemathesis")
        for line in self.lines:
            terminalreporter.write_line(line)


def report(config: pytest.Config, line: str) -> None:
    """Print `line` in the session's summary (schemathesis's case counts belong in CI logs)."""
    if REPORT not in config.stash:
        config.stash[REPORT] = []
        config.pluginmanager.register(_Summary(config.stash[REPORT]), "messpunkt-schemathesis")
    config.stash[REPORT].append(line)


# The runs ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    config = {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}
    with LiveServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def token(live: LiveServer) -> str:
    return obtain_tokens(live.url).access_token


@pytest.fixture(scope="module")
def everything_but_the_state_changes(live: LiveServer, token: str) -> Run:
    headers = {"Authorization": f"Bearer {token}", "X-Sandbox-Admin-Key": ADMIN_KEY}
    config = _config(headers, fuzzes_authorize=True)
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json", config=config)
    return execute(schema.exclude(name_regex=STATE_CHANGING))


@pytest.fixture(scope="module")
def the_state_changes() -> Run:
    config = {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}
    with LiveServer(config) as server:
        obtain_tokens(server.url)  # a session for reset, data and the clock to end
        headers = {"X-Sandbox-Admin-Key": ADMIN_KEY}
        schema = schemathesis.openapi.from_url(
            server.url + "/openapi.json", config=_config(headers)
        )
        return execute(schema.include(name_regex=STATE_CHANGING))


@pytest.mark.live
def test_schemathesis_finds_nothing_on_every_operation_that_keeps_the_token_valid(
    pytestconfig, record_property, everything_but_the_state_changes
):
    run = everything_but_the_state_changes
    report(pytestconfig, f"reads and harmless controls: {run.summary()}")
    record_property("schemathesis_cases", run.total)
    assert run.errors == []
    assert run.failures == [], _unique(run.failures)


@pytest.mark.live
def test_schemathesis_finds_nothing_on_the_controls_that_reset_or_move_the_sandbox(
    pytestconfig, record_property, the_state_changes
):
    run = the_state_changes
    report(pytestconfig, f"reset, data, clock and revoke: {run.summary()}")
    record_property("schemathesis_cases", run.total)
    assert run.errors == []
    assert run.failures == [], _unique(run.failures)
    assert set(run.cases) - {STATEFUL} == STATE_CHANGING_OPERATIONS


@pytest.fixture(scope="module")
def documented(live: LiveServer) -> set[str]:
    """Every operation of /openapi.json, as schemathesis labels it."""
    spec = requests.get(live.url + "/openapi.json", timeout=10).json()
    return {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }


@pytest.mark.live
def test_the_two_runs_fuzz_every_documented_operation_under_every_required_check(
    documented, everything_but_the_state_changes, the_state_changes
):
    fuzzed = set(everything_but_the_state_changes.cases) | set(the_state_changes.cases)
    assert fuzzed - {STATEFUL} == documented
    for run in (everything_but_the_state_changes, the_state_changes):
        assert set(run.checks) >= REQUIRED_CHECKS
        assert all(count >= 1 for count in run.cases.values())


@pytest.mark.live
def test_the_token_stayed_valid_so_every_v1_operation_was_answered_with_200(
    live, token, documented, everything_but_the_state_changes
):
    answered = {
        label for label, status in everything_but_the_state_changes.statuses if status == 200
    }
    v1 = {label for label in documented if label.startswith("GET /v1/")}
    assert len(v1) >= 11
    assert v1 <= answered
    whoami = requests.get(
        live.url + "/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert whoami.status_code == 200


def test_an_undocumented_status_fails_even_though_every_operation_has_a_default():
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "200": {"description": "OK"},
                        "default": {"description": "Error"},
                    }
                }
            }
        },
    }
    operation = schemathesis.openapi.from_dict(spec)["/x"]["GET"]
    case = operation.Case()
    for status, fails in ((200, False), (418, True)):
        response = schemathesis.Response(
            status_code=status,
            headers={},
            content=json.dumps({}).encode(),
            request=requests.Request("GET", "http://t/x").prepare(),
            elapsed=0.0,
            verify=False,
        )
        if fails:
            with pytest.raises(UndocumentedStatus, match="answered 418; it lists 200"):
                explicitly_documented_status(None, response, case)
        else:
            assert explicitly_documented_status(None, response, case) is None
