"""Servers under load: start them, load them with wrk, compare them in rounds.

What every section of `make bench` shares: a server process started as a
partner starts it, the authorize → token flow that gives it tokens, wrk runs
with the serving process's CPU time and thread switches per request, and
rounds of a reference run then a scenario run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROPERTY = "6fb74d25-5517-4dcc-ae8b-0914579ab036"
REDIRECT = "http://localhost:3000/callback"
ADMIN_KEY = "bench-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            requests.get(url, timeout=0.5)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def start(command: list[str], url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    wait_until_up(url, process)
    return process


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def tokens(http: requests.Session, base: str) -> dict[str, str]:
    """Run the real authorize → token flow once and return the token response."""
    verifier, challenge = pkce_pair()
    consent = http.post(
        f"{base}/oauth/authorize",
        data={
            "client_id": "sandbox-demo-client",
            "redirect_uri": REDIRECT,
            "scope": "read:units read:devices read:readings",
            "state": "bench",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "property": PROPERTY,
            "decision": "approve",
        },
        allow_redirects=False,
    )
    code = requests.utils.urlparse(consent.headers["Location"]).query.split("code=")[1]
    code = code.split("&")[0]
    response = http.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "sandbox-demo-client",
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def refresh_tokens(base: str, count: int, connections: int = 8) -> list[str]:
    """Prepare `count` refresh tokens, each of its own session.

    wrk runs the authorize → token flow (prepare.lua), each thread until it has
    its share: 800 flows/s where requests in 8 Python threads made 330 (the
    in-memory sandbox; on Redis 440 against 270). A wrk run ends at its
    duration or at SIGINT only, so the tokens are counted as they come and wrk
    is interrupted once all are there.
    """
    verifier, challenge = pkce_pair()
    share = -(-count // connections)  # rounded up: every thread stops at its share
    with tempfile.TemporaryDirectory() as scratch:
        files = [Path(scratch) / f"tokens-{index}" for index in range(connections)]
        command = [
            "wrk", f"-t{connections}", f"-c{connections}", "-d600s", "--timeout", "5s",
            "-s", str(HERE / "wrk" / "prepare.lua"), base,
        ]  # fmt: skip
        environment = {**os.environ, "BENCH_LUA_DIR": str(HERE / "wrk"),
                       "BENCH_TOKENS": str(Path(scratch) / "tokens-"), "BENCH_SHARE": str(share),
                       "BENCH_VERIFIER": verifier, "BENCH_CHALLENGE": challenge}  # fmt: skip
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
        try:
            made, since = 0, time.monotonic()
            while made < share * connections:
                if process.poll() is not None:
                    raise SystemExit(f"wrk ended with {made} of {count} refresh tokens prepared")
                if time.monotonic() - since > 10:
                    raise SystemExit(f"no refresh token for 10 s ({made} of {count}): "
                                     "does the authorize → token flow fail?")  # fmt: skip
                time.sleep(0.1)
                counted = sum(_lines(file) for file in files)
                if counted > made:
                    made, since = counted, time.monotonic()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        prepared = [token for file in files for token in file.read_text().split()]
    return prepared[:count]


def _lines(file: Path) -> int:
    try:
        return file.read_bytes().count(b"\n")
    except FileNotFoundError:  # its thread has not started yet
        return 0


def server_counters(pid: int) -> tuple[float, int] | None:
    """CPU seconds and context switches of a process over all its threads (Linux /proc).

    Switches say what the req/s alone hide: every time a thread gives up the
    GIL to another, the kernel switches threads, and on this machine a switch
    costs more CPU than many a Python function. Only live threads count (waitress's
    live as long as the server). None where /proc is missing.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    switches = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:  # the thread ended meanwhile
            continue
        switches += sum(int(line.split()[1]) for line in lines if "ctxt_switches" in line)
    return cpu, switches


def tree_counters(pid: int) -> tuple[float, int] | None:
    """CPU seconds and context switches of a process and its children, over all their threads.

    A gunicorn master only watches; its workers (its children) serve. The
    children are those alive at the call (/proc/<pid>/task/*/children); a
    waitress or bare server has none. None where /proc or the process is missing.
    """
    total = server_counters(pid)
    if total is None:
        return None
    cpu, switches = total
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = listing.read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        for child in children:
            counted = server_counters(int(child))
            if counted is not None:
                cpu, switches = cpu + counted[0], switches + counted[1]
    return cpu, switches


def wrk(
    pid: int, url: str, script: str, seconds: int, threads: int, connections: int, **env: str
) -> dict:
    """Load `url` with wrk; add req/s, and the serving processes' CPU and switches per request."""
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(HERE / "wrk" / script), url,
    ]  # fmt: skip
    environment = {**os.environ, "BENCH_LUA_DIR": str(HERE / "wrk"),
                   "BENCH_WRK_THREADS": str(threads), **env}  # fmt: skip
    before = tree_counters(pid)
    output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    after = tree_counters(pid)
    result = json.loads(output.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["cpu_us"] = result["switches"] = None
    if before and after and result["requests"]:
        result["cpu_us"] = (after[0] - before[0]) / result["requests"] * 1e6
        result["switches"] = (after[1] - before[1]) / result["requests"]
    return result


def rounds(
    count: int,
    bare: Callable[[], dict],
    scenario: Callable[[int], dict],
    prepare: Callable[[int], None] = lambda index: None,
) -> dict[str, Any]:
    """Run the bare endpoint and a scenario back to back, `count` times.

    Each round's ratio compares two runs a few seconds apart, so a slow
    spell of a shared machine lands on both sides; the median round stands
    for the scenario. `prepare` runs before a round's bare run, not between
    the two.
    """
    runs = []
    for index in range(count):
        prepare(index)
        reference, result = bare(), scenario(index)
        runs.append({**result, "ratio": result["rps"] / reference["rps"], "bare": reference})
    runs.sort(key=lambda run: run["ratio"])
    median = runs[(len(runs) - 1) // 2]  # with an even count, the lower of the two
    bad = sum(run["non_2xx_3xx"] + run["socket_errors"] for run in runs)
    return {**median, "bad": bad, "ratios": [run["ratio"] for run in runs]}


def table(rows: dict[str, dict], targets: dict[str, float]) -> list[str]:
    """Print a row per result, under the caller's header; return what missed its target."""
    failed = []
    for name, result in rows.items():
        target = targets.get(name)
        if target is not None and result["ratio"] < target:
            failed.append(name)
        if result["bad"]:
            failed.append(f"{name} had {result['bad']} bad responses")
        print(f"| {name} | {result['rps']:.0f} | {result['p50_us'] / 1000:.2f} | "
              f"{result['p99_us'] / 1000:.2f} | {_figure(result['cpu_us'], '.0f')} | "
              f"{_figure(result['switches'], '.1f')} | {result['ratio']:.2f} | "
              f"{'≥ ' + format(target, '.1f') if target else '—'} |")  # fmt: skip
    return failed


def _figure(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)
