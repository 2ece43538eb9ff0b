"""The one backoff rule: bounds, full jitter, Retry-After, the run's deadline, what is retried, logs.

Everything runs on a fake clock: `sleep` advances it, nothing waits, nothing touches the network
(the Azure SDK half goes through azure-core's real retry policy over a scripted requests adapter).
"""

from __future__ import annotations

import email.utils
import http.client
import random
import ssl
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import requests
from azure.core.pipeline import Pipeline
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from requests.adapters import BaseAdapter

from acr_action import clock, deploy
from acr_action.clock import Deadline
from acr_action.errors import NotReady
from acr_action.retry import (
    DEFAULT_BACKOFF,
    RETRY_STATUSES,
    SDK_RETRY_TOTAL,
    Backoff,
    Pacer,
    Retrier,
    Transient,
    azure_options,
    http_verdict,
    retry_after,
)

NOW = 1_700_000_000.0


class FakeClock:
    """Monotonic time that only `sleep` moves."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The deadline (and the probe) read this clock instead of the real one."""
    fake = FakeClock()
    monkeypatch.setattr(clock, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


class Edge(random.Random):
    """A "random" source that always picks the top (or the bottom) of the jitter range."""

    def __init__(self, top: bool = True) -> None:
        super().__init__(0)
        self.top = top

    def uniform(self, a: float, b: float) -> float:
        return b if self.top else a


def response(status: int, retry_after_header: str | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    if retry_after_header is not None:
        answer.headers["Retry-After"] = retry_after_header
    return answer


def scripted(*outcomes: Any) -> Iterator[Any]:
    return iter(outcomes)


def call(retrier: Retrier, outcomes: Iterator[Any]) -> Any:
    def attempt() -> Any:
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return retrier.call("The thing", attempt, http_verdict)


# --------------------------------------------------------------------------- the backoff rule


def test_the_upper_bound_doubles_from_base_up_to_the_cap() -> None:
    rule = Backoff(attempts=10, base=0.5, cap=8.0)
    tops = [rule.delay(retry, Edge(top=True)) for retry in range(1, 9)]
    bottoms = [rule.delay(retry, Edge(top=False)) for retry in range(1, 9)]
    assert tops == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert bottoms == [0.0] * 8


def test_full_jitter_spreads_over_zero_to_the_bound() -> None:
    rng = random.Random(42)
    for retry in range(1, 7):
        bound = min(DEFAULT_BACKOFF.cap, DEFAULT_BACKOFF.base * 2 ** (retry - 1))
        waits = [DEFAULT_BACKOFF.delay(retry, rng) for _ in range(2000)]
        assert all(0.0 <= wait <= bound for wait in waits), retry
        # Full jitter, not "half the bound plus jitter": both ends of the range are used.
        assert min(waits) < 0.05 * bound
        assert max(waits) > 0.95 * bound


def test_default_rule() -> None:
    assert (DEFAULT_BACKOFF.attempts, DEFAULT_BACKOFF.base, DEFAULT_BACKOFF.cap) == (5, 0.5, 8.0)


# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("3", 3.0, id="seconds"),
        pytest.param(" 2.5 ", 2.5, id="fractional-seconds-with-blanks"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("-4", 0.0, id="negative-is-now"),
        pytest.param(email.utils.formatdate(NOW + 30, usegmt=True), 30.0, id="http-date-ahead"),
        pytest.param(email.utils.formatdate(NOW - 30, usegmt=True), 0.0, id="http-date-past"),
        pytest.param("Tue, 14 Nov 2023 22:13:40 GMT", 20.0, id="http-date-literal"),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("soon", None, id="text"),
        pytest.param("Someday, 99 Foo 2023 25:61:61 GMT", None, id="broken-date"),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, now=NOW) == (pytest.approx(seconds) if seconds is not None else None)


def test_http_verdict_carries_retry_after() -> None:
    verdict = http_verdict(response(429, "7"))
    assert verdict == Transient("answered HTTP 429", 7.0)
    assert http_verdict(response(503)) == Transient("answered HTTP 503", None)


# --------------------------------------------------------------------------- what is retried


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_transient_statuses_are_retried(status: int, fake_clock: FakeClock) -> None:
    lines: list[str] = []
    retrier = Retrier(log=lines.append, sleep=fake_clock.sleep, rng=Edge())

    answer = call(retrier, scripted(response(status), response(200)))

    assert answer.status_code == 200
    assert len(lines) == 1
    assert f"answered HTTP {status}" in lines[0]


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 403, 404, 409, 412, 501, 505])
def test_final_statuses_are_not_retried(status: int, fake_clock: FakeClock) -> None:
    lines: list[str] = []
    retrier = Retrier(log=lines.append, sleep=fake_clock.sleep)

    answer = call(retrier, scripted(response(status), response(200)))

    assert answer.status_code == status
    assert lines == []
    assert fake_clock.slept == []


@pytest.mark.parametrize(
    ("error", "said"),
    [
        pytest.param(requests.ConnectionError("reset"), "dropped the connection", id="dropped"),
        pytest.param(
            requests.ConnectTimeout("slow"), "did not answer in time", id="connect-timeout"
        ),
        pytest.param(requests.ReadTimeout("slow"), "did not answer in time", id="read-timeout"),
    ],
)
def test_dropped_and_timed_out_calls_are_retried(
    error: Exception, said: str, fake_clock: FakeClock
) -> None:
    lines: list[str] = []
    retrier = Retrier(log=lines.append, sleep=fake_clock.sleep, rng=Edge())

    assert call(retrier, scripted(error, response(200))).status_code == 200
    assert len(lines) == 1
    assert said in lines[0]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(requests.HTTPError("bad"), id="http-error"),
        pytest.param(requests.exceptions.InvalidURL("x"), id="invalid-url"),
        pytest.param(ValueError("a bug"), id="not-a-network-error"),
    ],
)
def test_other_exceptions_are_raised_at_once(error: Exception, fake_clock: FakeClock) -> None:
    lines: list[str] = []
    retrier = Retrier(log=lines.append, sleep=fake_clock.sleep)

    with pytest.raises(type(error)):
        call(retrier, scripted(error, response(200)))
    assert lines == []


# --------------------------------------------------------------------------- logging and limits


def test_each_retry_is_logged_once_with_the_wait_and_the_attempt(fake_clock: FakeClock) -> None:
    lines: list[str] = []
    retrier = Retrier(log=lines.append, sleep=fake_clock.sleep, rng=Edge(top=True))

    answer = call(
        retrier,
        scripted(response(503), response(429, "2"), requests.ConnectionError(), response(200)),
    )

    assert answer.status_code == 200
    assert fake_clock.slept == [0.5, 2.0, 2.0]  # backoff, Retry-After honoured, backoff
    assert lines == [
        "The thing answered HTTP 503; retrying in 0.5 s (attempt 2 of 5)",
        "The thing answered HTTP 429; retrying in 2.0 s (attempt 3 of 5)",
        "The thing dropped the connection (ConnectionError); retrying in 2.0 s (attempt 4 of 5)",
    ]


def test_attempts_run_out_and_the_last_answer_is_returned(fake_clock: FakeClock) -> None:
    lines: list[str] = []
    retrier = Retrier(log=lines.append, sleep=fake_clock.sleep, rng=Edge())

    answer = call(retrier, scripted(*(response(503) for _ in range(10))))

    assert answer.status_code == 503
    assert len(lines) == DEFAULT_BACKOFF.attempts - 1
    assert len(fake_clock.slept) == DEFAULT_BACKOFF.attempts - 1


def test_attempts_run_out_and_the_last_error_is_raised(fake_clock: FakeClock) -> None:
    retrier = Retrier(sleep=fake_clock.sleep, rng=Edge())
    errors = [requests.ConnectionError(f"try {n}") for n in range(1, 6)]

    with pytest.raises(requests.ConnectionError, match="try 5"):
        call(retrier, scripted(*errors))


def test_a_wait_past_the_deadline_is_not_taken(fake_clock: FakeClock) -> None:
    lines: list[str] = []
    deadline = Deadline(3.0, started=fake_clock.now)
    retrier = Retrier(deadline, lines.append, sleep=fake_clock.sleep)

    answer = call(retrier, scripted(response(503, "10"), response(200)))

    assert answer.status_code == 503  # the caller names the dependency and this status
    assert fake_clock.slept == []
    assert lines == []


def test_retries_stop_when_the_deadline_is_near(fake_clock: FakeClock) -> None:
    deadline = Deadline(10.0, started=fake_clock.now)
    retrier = Retrier(deadline, sleep=fake_clock.sleep, backoff=Backoff(attempts=100))

    answer = call(retrier, scripted(*(response(503, "4") for _ in range(100))))

    assert answer.status_code == 503
    assert fake_clock.slept == [4.0, 4.0]  # a third 4 s wait would end after the deadline
    assert deadline.remaining() == pytest.approx(2.0)


def test_read_timeouts_never_outlive_the_run(fake_clock: FakeClock) -> None:
    deadline = Deadline(100.0, started=fake_clock.now)
    retrier = Retrier(deadline)
    assert retrier.read_timeout(30.0) == 30.0
    fake_clock.sleep(88.0)
    assert retrier.read_timeout(30.0) == pytest.approx(12.0)
    fake_clock.sleep(11.9)
    assert retrier.read_timeout(30.0) == 1.0  # at least a second to answer
    assert Retrier().read_timeout(30.0) == 30.0


# --------------------------------------------------------------------------- the Azure SDK half


def policy_of(deadline: Deadline | None) -> Any:
    return azure_options("Key Vault", deadline)["retry_policy"]


def test_sdk_backoff_uses_the_same_rule() -> None:
    policy = policy_of(None)
    for retry in range(1, 8):
        bound = min(DEFAULT_BACKOFF.cap, DEFAULT_BACKOFF.base * 2 ** (retry - 1))
        waits = [policy.get_backoff_time({"history": [None] * retry}) for _ in range(200)]
        assert all(0.0 <= wait <= bound for wait in waits)


def test_sdk_retries_are_bounded_by_the_deadline(fake_clock: FakeClock) -> None:
    deadline = Deadline(20.0, started=fake_clock.now)
    policy = policy_of(deadline)
    assert policy.configure_retries({})["timeout"] == pytest.approx(20.0)
    assert policy.configure_retries({})["total"] == SDK_RETRY_TOTAL
    throttled = SimpleNamespace(http_response=SimpleNamespace(headers={"Retry-After": "60"}))
    assert policy.get_retry_after(throttled) == pytest.approx(20.0)
    fake_clock.sleep(19.5)
    assert policy.get_retry_after(throttled) == pytest.approx(0.5)
    assert policy.configure_retries({})["timeout"] == 1.0  # at least one attempt's worth


class ScriptedAdapter(BaseAdapter):
    """A requests adapter that answers from a script: (status, headers) or an exception."""

    def __init__(self, script: list[Any]) -> None:
        super().__init__()
        self.script = script
        self.sent = 0

    def send(self, request: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]  # only what the transport passes
        self.sent += 1
        outcome = self.script.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        status, headers = outcome
        answer = requests.Response()
        answer.status_code = status
        answer.headers.update(headers)
        answer._content = b"{}"
        answer.raw = SimpleNamespace(enforce_content_length=True)
        answer.request = request
        answer.url = request.url
        return answer

    def close(self) -> None:
        pass


class FakeTimeTransport(RequestsTransport):  # type: ignore[misc]  # untyped in azure-core's stubs
    """azure-core's requests transport whose sleeps are only recorded."""

    def __init__(self, adapter: ScriptedAdapter) -> None:
        session = requests.Session()
        session.mount("https://", adapter)
        super().__init__(session=session, session_owner=False)
        self.slept: list[float] = []

    def sleep(self, duration: float) -> None:
        self.slept.append(duration)


def sdk_call(script: list[Any]) -> tuple[int, list[str], FakeTimeTransport, int]:
    lines: list[str] = []
    options = azure_options("Key Vault", None, lines.append)
    adapter = ScriptedAdapter(script)
    transport = FakeTimeTransport(adapter)
    pipeline: Pipeline[Any, Any] = Pipeline(
        transport, policies=[options["retry_policy"], *options["per_retry_policies"]]
    )
    with pipeline:
        answer = pipeline.run(HttpRequest("GET", "https://kv.vault.example/secrets/x"))
    return answer.http_response.status_code, lines, transport, adapter.sent


def test_sdk_retries_log_once_each_and_honour_retry_after() -> None:
    status, lines, transport, sent = sdk_call(
        [(503, {}), (429, {"Retry-After": "3"}), requests.ConnectionError("reset"), (200, {})]
    )

    assert status == 200
    assert sent == 4
    assert len(transport.slept) == 3
    assert transport.slept[1] == 3.0
    assert 0.0 <= transport.slept[0] <= DEFAULT_BACKOFF.base
    assert [line.split(";")[0] for line in lines] == [
        "Key Vault answered HTTP 503",
        "Key Vault answered HTTP 429",
        "Key Vault dropped the connection or timed out (ServiceRequestError)",
    ]
    assert [line.rsplit("(", 1)[1] for line in lines] == [
        f"attempt {n} of {SDK_RETRY_TOTAL + 1})" for n in (2, 3, 4)
    ]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_sdk_final_statuses_are_not_retried(status: int) -> None:
    answered, lines, transport, sent = sdk_call([(status, {}), (200, {})])
    assert (answered, lines, transport.slept, sent) == (status, [], [], 1)


def test_sdk_gives_up_after_its_retries() -> None:
    answered, lines, _, sent = sdk_call([(503, {})] * 10)
    assert answered == 503
    # The per-cause caps (`retry_status`, `retry_connect`) are raised to the total, so a status
    # that stays transient gets SDK_RETRY_TOTAL retries, as the log lines count them.
    assert sent == 1 + SDK_RETRY_TOTAL
    assert len(lines) == sent - 1


# --------------------------------------------------------------------------- the readiness probe


class FakeConnection:
    """`http.client.HTTPConnection` answering from a shared script."""

    script: ClassVar[list[Any]] = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.timeout = timeout

    def request(self, method: str, path: str, headers: dict[str, str]) -> None:
        outcome = FakeConnection.script.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        self.answer = outcome

    def getresponse(self) -> Any:
        status, headers = self.answer
        return SimpleNamespace(status=status, getheader=headers.get)

    def close(self) -> None:
        pass


@pytest.fixture
def probe_clock(monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> FakeClock:
    monkeypatch.setattr(
        deploy, "time", SimpleNamespace(monotonic=fake_clock.monotonic, sleep=fake_clock.sleep)
    )
    monkeypatch.setattr(http.client, "HTTPConnection", FakeConnection)
    return fake_clock


def test_probe_logs_when_the_answer_changes_or_every_five_seconds(probe_clock: FakeClock) -> None:
    # 15 s of 503 (a try every 0.5 s), 10 s of refused connections, then 200.
    FakeConnection.script = (
        [(503, {})] * 30 + [ConnectionRefusedError()] * 20 + [(200, {})]
    )  # fmt: skip
    lines: list[str] = []
    deadline = Deadline(120.0, started=probe_clock.now)

    status = deploy.probe("127.0.0.1", 80, "/", "app.example", deadline, log=lines.append)

    assert status == 200
    assert len(probe_clock.slept) == 50
    said = [line.split(" http://app.example:80/ ")[1].split(";")[0] for line in lines]
    assert said == [
        "answered HTTP 503",  # t=0: the first answer
        "answered HTTP 503",  # t=5
        "answered HTTP 503",  # t=10
        "did not answer (ConnectionRefusedError)",  # t=15: changed
        "did not answer (ConnectionRefusedError)",  # t=20
    ]


def test_probe_honours_retry_after_and_treats_429_as_not_yet(probe_clock: FakeClock) -> None:
    FakeConnection.script = [(429, {"Retry-After": "2"}), (404, {})]
    lines: list[str] = []

    status = deploy.probe(
        "127.0.0.1",
        8080,
        "/health",
        None,
        Deadline(60.0, started=probe_clock.now),
        log=lines.append,
    )

    assert status == 404  # below 500 and not "not yet": the app is up
    assert probe_clock.slept == [2.0]
    assert lines == [
        "Readiness probe http://127.0.0.1:8080/health answered HTTP 429; retrying in 2.0 s (attempt 2)"
    ]


def test_probe_gives_up_at_the_deadline_naming_the_last_answer(probe_clock: FakeClock) -> None:
    FakeConnection.script = [(502, {})] * 100

    with pytest.raises(NotReady) as info:
        deploy.probe("127.0.0.1", 80, "/", None, Deadline(3.0, started=probe_clock.now))

    assert sum(probe_clock.slept) == pytest.approx(3.0)
    assert "502" in info.value.render()


def _unverified() -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "unable to get local issuer certificate"
    return exc


@pytest.mark.parametrize(
    ("script", "blamed"),
    [
        pytest.param([_unverified()] * 100, True, id="certificate-to-the-end"),
        pytest.param(
            [_unverified()] * 3 + [ConnectionRefusedError()] * 100, False, id="then-refused"
        ),
    ],
)
def test_probe_names_an_untrusted_certificate_only_when_it_was_the_last_answer(
    probe_clock: FakeClock, script: list[Any], blamed: bool
) -> None:
    FakeConnection.script = script

    with pytest.raises(NotReady) as info:
        deploy.probe("127.0.0.1", 80, "/", None, Deadline(3.0, started=probe_clock.now))

    rendered = info.value.render()
    assert ("unable to get local issuer certificate" in rendered) is blamed
    assert ("SSL_CERT_FILE" in rendered) is blamed
    assert ("health-check-path" in rendered) is True


def test_the_pacer_lets_a_burst_through_then_spaces_calls_at_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    pacer = Pacer(2, 4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        pacer.wait()

    assert slept == [pytest.approx(0.25), pytest.approx(0.5)]
