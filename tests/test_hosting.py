"""The hosted shape: the sandbox on Redis, behind several gunicorn workers.

Every test runs against a real redis-server (tests/redis_server.py); the
live ones start `messpunkt-sandbox --workers 4` as a partner would.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from flask import request
from live_sandbox import LiveSandbox
from redis_server import RedisServer, free_port
from test_quickstart import readme_runs_in_order

from messpunkt import create_app
from messpunkt.stores import redis as redis_store
from messpunkt.testing import FROZEN_AT, obtain_tokens

ADMIN_KEY = "hosted-admin-key"
pytestmark = pytest.mark.live


def hosted(url: str, signing_key: str, **more: object) -> dict[str, object]:
    return {
        "MESSPUNKT_STORE_URL": url,
        "MESSPUNKT_SIGNING_KEY": signing_key,
        "MESSPUNKT_SECRET_KEY": "a-shared-cursor-secret",
        "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY,
        **more,
    }


# Start-up


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"MESSPUNKT_WORKERS": 2},
         "MESSPUNKT_WORKERS above 1 needs MESSPUNKT_STORE_URL: workers must share one store"),
        ({"MESSPUNKT_STORE_URL": "redis://127.0.0.1:1/0"},
         "MESSPUNKT_STORE_URL needs MESSPUNKT_SIGNING_KEY, MESSPUNKT_SECRET_KEY, "
         "MESSPUNKT_SANDBOX_ADMIN_KEY set: every worker and host must sign, verify and page alike"),
        ({"MESSPUNKT_STORE_URL": "redis://127.0.0.1:1/0", "MESSPUNKT_SECRET_KEY": "s",
          "MESSPUNKT_SANDBOX_ADMIN_KEY": "a"},
         "MESSPUNKT_STORE_URL needs MESSPUNKT_SIGNING_KEY set: every worker and host must sign, "
         "verify and page alike"),
    ],
    ids=["workers-without-store", "store-without-secrets", "store-without-signing-key"],
)  # fmt: skip
def test_a_hosted_setup_that_would_split_state_is_refused_at_start(config, message):
    with pytest.raises(ValueError) as refused:
        create_app(config)
    assert str(refused.value) == message


def run_cli(*argv: str, **environ: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MESSPUNKT_")}
    return subprocess.run(
        [sys.executable, "-m", "messpunkt", *argv],
        env={**clean, **environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_refuses_several_workers_without_a_store_in_one_line():
    completed = run_cli("--workers", "4", "--port", str(free_port()))
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        "messpunkt-sandbox: MESSPUNKT_WORKERS above 1 needs MESSPUNKT_STORE_URL: "
        "workers must share one store\n"
    )


def test_the_command_refuses_a_store_it_cannot_reach_in_one_line(signing_key):
    port = free_port()  # nothing listens there
    environ = {k: str(v) for k, v in hosted(f"redis://127.0.0.1:{port}/0", signing_key).items()}
    completed = run_cli("--port", str(free_port()), **environ)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith(
        f"messpunkt-sandbox: cannot reach the store at redis://127.0.0.1:{port}/0: "
    )
    assert completed.stderr.count("\n") == 1


REFUSED = f"Error {errno.ECONNREFUSED} connecting to 127.0.0.1:{{port}}. " + os.strerror(
    errno.ECONNREFUSED
)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("redis://:hunter2@127.0.0.1:{port}/0", "redis://127.0.0.1:{port}/0"),
        ("redis://partner:hunter2@127.0.0.1:{port}/3", "redis://127.0.0.1:{port}/3"),
        ("rediss://:hunter2@127.0.0.1:{port}/0", "rediss://127.0.0.1:{port}/0"),
        ("redis://127.0.0.1:{port}?db=2&password=hunter2", "redis://127.0.0.1:{port}/2"),
    ],
    ids=["password", "user-and-password", "tls", "password-in-query"],
)
def test_a_store_it_cannot_reach_is_named_without_its_credentials(url, named):
    port = free_port()  # nothing listens there
    with pytest.raises(ConnectionError) as refused:
        redis_store.connect(url.format(port=port))
    assert str(refused.value) == (
        f"cannot reach the store at {named.format(port=port)}: {REFUSED.format(port=port)}."
    )


def test_a_unix_socket_store_it_cannot_reach_is_named_without_its_password(tmp_path):
    socket_path = tmp_path / "no.sock"
    with pytest.raises(ConnectionError) as refused:
        redis_store.connect(f"unix://:hunter2@{socket_path}?db=1")
    assert str(refused.value) == (
        f"cannot reach the store at unix://{socket_path}?db=1: Error {errno.ENOENT} connecting "
        f"to {socket_path}. {os.strerror(errno.ENOENT)}."
    )


def test_an_error_text_carrying_the_password_is_not_repeated(monkeypatch):
    def ping(client):
        raise redis.AuthenticationError("WRONGPASS for hunter2")  # as a server might say

    monkeypatch.setattr(redis.Redis, "ping", ping)
    with pytest.raises(ConnectionError) as refused:
        redis_store.connect("redis://:hunter2@127.0.0.1:6379/0")
    assert str(refused.value) == (
        "cannot reach the store at redis://127.0.0.1:6379/0: "
        "AuthenticationError (its text is left out: it repeats the password)"
    )


@pytest.mark.parametrize(
    "url",
    ["redis://:pass/word@127.0.0.1:6379/0", "redis://:hunter2@127.0.0.1:99999/0",
     "http://:hunter2@127.0.0.1:6379/0"],
    ids=["slash-in-password", "port-out-of-range", "not-redis"],
)  # fmt: skip
def test_a_store_url_redis_cannot_read_is_refused_without_repeating_it(url):
    with pytest.raises(ValueError) as refused:
        redis_store.connect(url)
    assert str(refused.value) == (
        "MESSPUNKT_STORE_URL is not a redis://, rediss:// or unix:// URL that Redis can read "
        "(not repeated here, as it may carry a password)"
    )


def test_the_command_never_prints_the_store_password(signing_key):
    port = free_port()  # nothing listens there
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    environ = {k: str(v) for k, v in hosted(url, signing_key).items()}
    completed = run_cli("--port", str(free_port()), **environ)
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        2,
        "",
        f"messpunkt-sandbox: cannot reach the store at redis://127.0.0.1:{port}/0: "
        f"{REFUSED.format(port=port)}.\n",
    )


def test_without_a_store_url_nothing_imports_redis():
    code = (
        "import sys; from messpunkt import create_app; from messpunkt.testing import obtain_tokens;"
        "app = create_app(); obtain_tokens(app.test_client());"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'gunicorn')))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout == "[]\n"


# In process, on Redis


def test_the_quickstart_flow_runs_on_redis_and_state_lives_in_redis(store_url, signing_key):
    app = create_app(hosted(store_url, signing_key, MESSPUNKT_FROZEN_AT=FROZEN_AT))
    client = app.test_client()
    tokens = obtain_tokens(client)

    whoami = client.get("/v1/whoami", headers=tokens.bearer)
    assert whoami.status_code == 200
    # A second app on the same store (another worker) honours and revokes the same token.
    other = create_app(hosted(store_url, signing_key, MESSPUNKT_FROZEN_AT=FROZEN_AT))
    assert other.test_client().get("/v1/whoami", headers=tokens.bearer).status_code == 200
    revoked = other.test_client().post(
        "/oauth/revoke", data={"token": tokens.refresh_token, "client_id": "sandbox-demo-client"}
    )
    assert revoked.status_code == 200
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 401
    with redis.Redis.from_url(store_url) as direct:
        assert direct.exists("mp:{default}:sbx") == 1


def test_a_lost_store_is_503_and_the_kept_data_works_again_after_a_restart(tmp_path, signing_key):
    server = RedisServer(tmp_path, persist=True).start()
    try:
        app = create_app(hosted(server.url, signing_key, MESSPUNKT_FROZEN_AT=FROZEN_AT))
        client = app.test_client()
        tokens = obtain_tokens(client)
        server.stop()

        down = [
            client.get("/v1/whoami", headers=tokens.bearer),
            client.post("/oauth/token", data={"grant_type": "refresh_token",
                        "refresh_token": tokens.refresh_token, "client_id": "sandbox-demo-client"}),
            client.get("/sandbox/clock", headers={"X-Sandbox-Admin-Key": ADMIN_KEY}),
        ]  # fmt: skip

        assert [r.status_code for r in down] == [503, 503, 503]
        assert [r.headers["Retry-After"] for r in down] == ["5", "5", "5"]
        assert [r.mimetype for r in down] == [
            "application/problem+json", "application/json", "application/problem+json",
        ]  # fmt: skip
        assert down[1].get_json() == {
            "error": "temporarily_unavailable",
            "error_description": "the sandbox's store cannot be reached; try again shortly",
        }
        assert down[0].get_json()["status"] == 503

        server.start()  # the same port and directory: it reads its append-only file back
        assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200
    finally:
        server.stop()


def test_an_app_built_while_its_store_is_away_answers_503_until_it_is_back(tmp_path, signing_key):
    """A gunicorn worker builds its app after the fork, and a restarted one may do so
    while Redis is away: it starts, answers 503 as every worker then does, and serves once
    the store is back, making the default sandbox then (the command alone refuses to
    start without its store, above)."""
    server = RedisServer(tmp_path)  # its port, with nothing listening yet
    try:
        app = create_app(hosted(server.url, signing_key, MESSPUNKT_FROZEN_AT=FROZEN_AT))
        client = app.test_client()
        admin = {"X-Sandbox-Admin-Key": ADMIN_KEY}

        away = client.get("/sandbox/clock", headers=admin)
        assert (away.status_code, away.headers["Retry-After"]) == (503, "5")

        server.start()
        assert client.get("/sandbox/clock", headers=admin).status_code == 200
        tokens = obtain_tokens(client)
        assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200
    finally:
        server.stop()


def test_a_worker_restarted_while_the_store_is_away_keeps_the_server_up(tmp_path, signing_key):
    """It used to fail to boot, and gunicorn then stopped every worker and exited (3)."""
    store = RedisServer(tmp_path).start()
    settings = {k: str(v) for k, v in hosted(store.url, signing_key).items()}
    server = LiveSandbox(tmp_path, MESSPUNKT_WORKERS="2", MESSPUNKT_THREADS="2", **settings)
    try:
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
        deadline = time.monotonic() + 30
        while len(children.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first = set(children.read_text().split())
        assert len(first) == 2
        store.stop()
        os.kill(int(sorted(first)[0]), 9)

        deadline = time.monotonic() + 30  # gunicorn starts another worker in its place
        while set(children.read_text().split()) & first == first and time.monotonic() < deadline:
            time.sleep(0.05)
        while len(children.read_text().split()) < 2 and time.monotonic() < deadline:
            assert server.process.poll() is None, server.log()
            time.sleep(0.05)
        time.sleep(1)  # as long again as its boot, were it failing

        assert server.process.poll() is None, server.log()
        assert len(set(children.read_text().split()) - first) == 1

        def clock() -> int:  # a fresh connection each: either worker may answer
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            try:
                connection.request("GET", "/sandbox/clock", headers={
                    "X-Sandbox-Admin-Key": ADMIN_KEY})  # fmt: skip
                return connection.getresponse().status
            finally:
                connection.close()

        assert {clock() for _ in range(8)} == {503}
        store.start()  # the same port
        assert {clock() for _ in range(8)} == {200}
    finally:
        server.stop()
        store.stop()


# Live, two gunicorn workers: the access log on SIGTERM


def test_terminating_gunicorn_still_writes_every_request_line_of_its_workers(
    store_url, signing_key, tmp_path
):
    settings = {k: str(v) for k, v in hosted(store_url, signing_key).items()}
    server = LiveSandbox(tmp_path, MESSPUNKT_WORKERS="2", MESSPUNKT_THREADS="2", **settings)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:  # one kept-alive connection: every request to the same worker
            for n in range(20):
                connection.request("GET", f"/nowhere-{n}")
                response = connection.getresponse()
                assert (response.status, response.read()[:1]) == (404, b"{")
        finally:
            connection.close()
    finally:
        # At once: the log writes every 0.1 s, so the last lines are still queued here.
        server.stop()
    logged = [line.split(" ")[1:4] for line in server.log().splitlines()
              if " /nowhere-" in line]  # fmt: skip
    assert logged == [["GET", f"/nowhere-{n}", "404"] for n in range(20)]
    assert server.process.returncode == 0


def test_a_request_on_a_kept_alive_connection_as_gunicorn_stops_is_answered_and_closed(
    store_url, signing_key, tmp_path
):
    """As gthread itself does: a stopping worker keeps its kept-alive connections for 2 s,
    and answers a request arriving on one with `Connection: close`. It used to reset them
    at once: the client got no answer to a request already on its way."""
    settings = {k: str(v) for k, v in hosted(store_url, signing_key).items()}
    server = LiveSandbox(tmp_path, MESSPUNKT_WORKERS="2", MESSPUNKT_THREADS="2", **settings)
    connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                   for _ in range(6)]  # fmt: skip
    try:
        for connection in connections:
            connection.request("GET", "/.well-known/jwks.json")
            assert connection.getresponse().read()[:1] == b"{"
        server.process.terminate()  # SIGTERM, as an operator stops it
        time.sleep(0.3)  # the workers are stopping now
        answers = []
        for connection in connections:
            connection.request("GET", "/.well-known/jwks.json")
            response = connection.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Connection")))
        assert answers == [(200, "close")] * 6
        assert server.process.wait(timeout=15) == 0
    finally:
        for connection in connections:
            connection.close()
        server.stop()


# Live, four gunicorn workers


class Gunicorn(LiveSandbox):
    """`messpunkt-sandbox --workers 4 --threads 4` on a free port, stopped after the test."""

    def __init__(self, config: dict[str, object], cwd: Path) -> None:
        settings = {k: str(v) for k, v in config.items()}
        super().__init__(cwd, MESSPUNKT_WORKERS="4", MESSPUNKT_THREADS="4", **settings)
        self.admin_key = settings["MESSPUNKT_SANDBOX_ADMIN_KEY"]
        deadline = time.monotonic() + 30
        while len(self.workers()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(self.workers()) < 4:
            self.stop()
            raise AssertionError("gunicorn did not come up with 4 workers within 30 s")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def cpu_ticks(self) -> dict[int, int]:
        """Each worker's CPU time so far (utime + stime, /proc/<pid>/stat fields 14, 15)."""
        ticks = {}
        for pid in self.workers():
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks[pid] = int(fields[11]) + int(fields[12])
        return ticks


@pytest.fixture
def gunicorn(store_url, signing_key, tmp_path):
    server = Gunicorn(hosted(store_url, signing_key), tmp_path)
    yield server
    server.stop()


def call(server: Gunicorn, path: str, *, data: dict | None = None, headers=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(server.url + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads workers from /proc")
def test_the_readme_runs_verbatim_against_four_workers_and_more_than_one_answers(
    gunicorn, tmp_path
):
    before = gunicorn.cpu_ticks()
    readme_runs_in_order(gunicorn, tmp_path)
    for _ in range(200):
        assert call(gunicorn, "/.well-known/oauth-authorization-server")[0] == 200
    after = gunicorn.cpu_ticks()
    busy = [pid for pid in after if after[pid] > before.get(pid, 0)]
    assert len(busy) > 1, (before, after)


def test_fifty_refreshes_of_one_token_across_workers_rotate_it_once(gunicorn):
    tokens = obtain_tokens(gunicorn.url)
    barrier = threading.Barrier(50)
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
            "client_id": "sandbox-demo-client"}  # fmt: skip

    def refresh(_: int):
        barrier.wait()
        return call(gunicorn, "/oauth/token", data=form)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(refresh, range(50)))

    assert Counter(status for status, _ in answers) == {200: 1, 400: 49}
    [(_, winner)] = [a for a in answers if a[0] == 200]
    assert {body["error"] for status, body in answers if status == 400} == {"invalid_grant"}
    bearer = {"Authorization": f"Bearer {winner['access_token']}"}
    assert call(gunicorn, "/v1/whoami", headers=bearer)[0] == 401
    again = {**form, "refresh_token": winner["refresh_token"]}
    assert call(gunicorn, "/oauth/token", data=again)[1]["error"] == "invalid_grant"
    status, sessions = call(
        gunicorn, "/sandbox/sessions", headers={"X-Sandbox-Admin-Key": ADMIN_KEY}
    )
    assert status == 200
    [session] = sessions["data"]
    assert [e["kind"] for e in session["events"]] == [
        "issued", "rotated", "replay_detected", "revoked",
    ]  # fmt: skip


def test_fifty_redemptions_of_one_code_across_workers_open_one_session(gunicorn):
    import base64
    import hashlib
    import secrets
    import urllib.parse

    from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, QUICKSTART_PROPERTY

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    opener = urllib.request.build_opener(_NoRedirect)
    body = urllib.parse.urlencode({
        "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "decision": "approve",
        "code_challenge": challenge.decode(), "code_challenge_method": "S256",
        "property": QUICKSTART_PROPERTY,
    }).encode()  # fmt: skip
    try:
        opener.open(urllib.request.Request(gunicorn.url + "/oauth/authorize", data=body))
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as redirect:
        location = redirect.headers["Location"]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "client_id": DEMO_CLIENT,
            "redirect_uri": DEMO_REDIRECT_URI, "code_verifier": verifier}  # fmt: skip
    barrier = threading.Barrier(50)

    def redeem(_: int):
        barrier.wait()
        return call(gunicorn, "/oauth/token", data=form)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(redeem, range(50)))

    assert Counter(status for status, _ in answers) == {200: 1, 400: 49}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_revocation_through_one_worker_holds_at_every_worker_and_cursors_travel(gunicorn):
    tokens = obtain_tokens(gunicorn.url)
    bearer = tokens.bearer
    first = call(gunicorn, "/v1/usage-units?limit=2", headers=bearer)
    cursor = first[1]["pagination"]["next_cursor"]
    # Many calls, so several workers get one: each pages on with another's cursor.
    pages = [call(gunicorn, f"/v1/usage-units?limit=2&cursor={cursor}", headers=bearer)
             for _ in range(20)]  # fmt: skip
    assert {status for status, _ in pages} == {200}
    assert len({json.dumps(body) for _, body in pages}) == 1

    form = {"token": tokens.refresh_token, "client_id": "sandbox-demo-client"}
    revoked = call(gunicorn, "/oauth/revoke", data=form)
    assert revoked == (200, {})
    assert {call(gunicorn, "/v1/whoami", headers=bearer)[0] for _ in range(20)} == {401}


def test_a_frozen_clock_keeps_a_code_the_store_would_have_collected_in_real_time(
    store_url, signing_key
):
    # A 1 s code and no grace: its real-time TTL from its lifetime was 1 s, and real time
    # runs on while the sandbox clock stands still. Valid by that clock, it must redeem.
    app = create_app(hosted(store_url, signing_key, MESSPUNKT_FROZEN_AT=FROZEN_AT,
                            MESSPUNKT_CODE_TTL=1, MESSPUNKT_STORE_GRACE=0))  # fmt: skip
    client = app.test_client()
    verifier = "v" * 43
    challenge = "7w_YNF9DSfIdPf_pRjSq646_kPr-2-o9NAl16JGghdM"  # S256 of 43 times "v"
    answer = client.post("/oauth/authorize", data={
        "client_id": "sandbox-demo-client", "redirect_uri": "http://localhost:3000/callback",
        "scope": "read:units", "code_challenge": challenge, "code_challenge_method": "S256",
        "property": "6fb74d25-5517-4dcc-ae8b-0914579ab036", "decision": "approve"})  # fmt: skip
    code = answer.headers["Location"].split("code=")[1].split("&")[0]

    time.sleep(1.5)  # real time only: the sandbox clock stands at FROZEN_AT
    redeemed = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": "sandbox-demo-client",
        "redirect_uri": "http://localhost:3000/callback", "code_verifier": verifier})  # fmt: skip

    assert redeemed.status_code == 200, redeemed.get_json()


def test_with_short_lifetimes_every_record_leaves_the_store_once_they_have_passed(
    store_url, signing_key
):
    # Lifetimes of 1-3 s and 1 s of grace, the sandbox clock running on the wall clock: the
    # test lets them pass on both. (Client-credentials and personal-access-token sessions
    # live as long as their client or token says: minutes, so they are left out here.)
    app = create_app(
        hosted(store_url, signing_key, MESSPUNKT_CODE_TTL=1, MESSPUNKT_ACCESS_TOKEN_TTL=1,
               MESSPUNKT_REFRESH_TOKEN_TTL=2, MESSPUNKT_SESSION_MAX_AGE=3,
               MESSPUNKT_STORE_GRACE=1)
    )  # fmt: skip
    client = app.test_client()
    direct = redis.Redis.from_url(store_url)
    keys = lambda: sorted(direct.scan_iter("mp:{default}:*"))  # noqa: E731
    assert keys() == [b"mp:{default}:sbx"]

    for _ in range(5):
        tokens = obtain_tokens(client)
        rotated = client.post("/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
            "client_id": "sandbox-demo-client"})  # fmt: skip
        assert rotated.status_code == 200
        client.post("/oauth/revoke", data={"token": tokens.access_token,
                                           "client_id": "sandbox-demo-client"})  # fmt: skip
    for _ in range(5):  # codes never redeemed
        with pytest.raises(AssertionError):
            obtain_tokens(client, client_secret="no secret for a public client")
    assert len(keys()) > 20

    app.extensions["messpunkt"].clock.advance(timedelta(seconds=4))
    deadline = time.monotonic() + 20
    while keys() != [b"mp:{default}:sbx"] and time.monotonic() < deadline:
        time.sleep(0.25)
    assert keys() == [b"mp:{default}:sbx"]
    direct.close()


# Partner sandboxes, hosted

OPERATOR = {"X-Operator-Key": "hosted-operator-key"}


@pytest.fixture
def partners(store_url, signing_key, tmp_path):
    config = hosted(store_url, signing_key, MESSPUNKT_OPERATOR_KEY="hosted-operator-key")
    server = Gunicorn(config, tmp_path)
    yield server
    server.stop()


def create(server: Gunicorn) -> SimpleNamespace:
    request = urllib.request.Request(server.url + "/sandboxes", data=b"", headers=OPERATOR)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        created = json.loads(response.read())
    return SimpleNamespace(id=created["id"], url=created["issuer"], admin_key=created["admin_key"])


def test_the_readme_runs_against_a_partner_sandbox_with_only_the_base_url_changed(
    partners, tmp_path
):
    partner = create(partners)
    assert partner.url == f"{partners.url}/s/{partner.id}"
    readme_runs_in_order(partner, tmp_path)


@pytest.mark.parametrize(
    ("path", "body"),
    [("/sandbox/clock/advance", {"by": "PT1H"}), ("/sandbox/clock/freeze", {}),
     ("/sandbox/reset", None),
     ("/sandbox/faults", {"method": "GET", "path": "/v1/whoami", "status": 503, "count": 1}),
     ("/oauth/register", {"redirect_uris": ["http://localhost:5000/cb"]})],
)  # fmt: skip
def test_a_change_to_a_sandbox_deleted_while_it_ran_is_the_404_of_a_sandbox_not_served(
    store_url, signing_key, path, body
):
    """Deleted after the request opened its sandbox and before its view changed it: the
    store refuses the change in the same step, and the answer is any request's to it now."""
    app = create_app(hosted(store_url, signing_key, MESSPUNKT_OPERATOR_KEY="hosted-operator-key"))
    platform = app.extensions["messpunkt"]

    @app.before_request  # runs after the partition's hook has opened the sandbox
    def delete_it() -> None:
        sandbox_id = request.environ.get("messpunkt.sandbox")
        if sandbox_id:
            assert platform.registry.delete(sandbox_id)

    client = app.test_client()
    created = client.post("/sandboxes", headers=OPERATOR).get_json()
    # The controls take the admin key in their header, registration as its initial token.
    admin = {"X-Sandbox-Admin-Key": created["admin_key"],
             "Authorization": f"Bearer {created['admin_key']}"}  # fmt: skip
    response = client.post(f"/s/{created['id']}{path}", json=body, headers=admin)
    assert (response.status_code, response.mimetype) == (404, "application/problem+json")
    assert response.get_json()["detail"] == "no such resource"
    with redis.Redis.from_url(store_url) as direct:
        assert list(direct.scan_iter(f"mp:{{{created['id']}}}:*")) == [
            f"mp:{{{created['id']}}}:ended".encode()
        ]


def test_partner_sandboxes_on_redis_keep_to_themselves(partners, store_url):
    a, b = create(partners), create(partners)
    a_tokens, b_tokens = obtain_tokens(a.url), obtain_tokens(b.url)
    default_tokens = obtain_tokens(partners.url)

    def whoami(base: str, tokens) -> int:
        return call(partners, base.removeprefix(partners.url) + "/v1/whoami",
                    headers=tokens.bearer)[0]  # fmt: skip

    # A's token is 401 at B and at the default; A's admin key is 401 on B's controls.
    assert [whoami(a.url, a_tokens), whoami(b.url, a_tokens), whoami(partners.url, a_tokens)] == [
        200, 401, 401,
    ]  # fmt: skip
    b_clock = f"/s/{b.id}/sandbox/clock"
    assert call(partners, b_clock, headers={"X-Sandbox-Admin-Key": a.admin_key})[0] == 401
    # A's clock advance expires A's tokens only; A's reset leaves B's sessions alive.
    a_admin = {"X-Sandbox-Admin-Key": a.admin_key, "Content-Type": "application/json"}
    advance = urllib.request.Request(
        f"{a.url}/sandbox/clock/advance", data=b'{"by": "PT2H"}', headers=a_admin
    )
    with urllib.request.urlopen(advance, timeout=10) as moved:
        assert moved.status == 200
    assert [whoami(a.url, a_tokens), whoami(b.url, b_tokens)] == [401, 200]
    reset = urllib.request.Request(f"{a.url}/sandbox/reset", data=b"", headers=a_admin)
    with urllib.request.urlopen(reset, timeout=10) as done:
        assert done.status == 200
    assert [whoami(b.url, b_tokens), whoami(partners.url, default_tokens)] == [200, 200]

    # Deleted: every path is 404, the operator's GET 410, and its keys have left Redis.
    with redis.Redis.from_url(store_url) as direct:
        assert list(direct.scan_iter(f"mp:{{{a.id}}}:*"))
        deleted = urllib.request.Request(
            f"{partners.url}/sandboxes/{a.id}", method="DELETE", headers=OPERATOR
        )
        with urllib.request.urlopen(deleted, timeout=10) as gone:
            assert gone.status == 204
        assert sorted(direct.scan_iter(f"mp:{{{a.id}}}:*")) == [f"mp:{{{a.id}}}:ended".encode()]
    assert call(partners, f"/sandboxes/{a.id}", headers=OPERATOR)[0] == 410
    assert call(partners, f"/s/{a.id}/.well-known/jwks.json")[0] == 404
    assert whoami(b.url, b_tokens) == 200


@pytest.mark.parametrize(
    "path",
    ["/v1/whoami", "/v1/usage-units", "/v1/properties", "/v1/devices?limit=5"],
)
def test_a_v1_request_makes_one_round_trip_to_redis(store_url, signing_key, monkeypatch, path):
    app = create_app(hosted(store_url, signing_key, MESSPUNKT_FROZEN_AT=FROZEN_AT))
    client = app.test_client()
    tokens = obtain_tokens(client)
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        sent.append(command)
        return original(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    assert client.get(path, headers=tokens.bearer).status_code == 200
    assert len(sent) == 1  # a pipeline is one send and one read


def test_a_signing_key_file_that_is_not_there_is_one_line_at_start(tmp_path):
    missing = tmp_path / "no-such.pem"
    completed = run_cli("--port", str(free_port()), MESSPUNKT_SIGNING_KEY=str(missing))
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        f"messpunkt-sandbox: signing key {missing}: No such file or directory\n"
    )
