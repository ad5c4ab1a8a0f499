"""The hosted section of `make bench`: the sandbox on Redis, beside the in-memory one.

A redis-server of the bench's own (a free port, nothing saved, started as
tests/redis_server.py starts one) keeps the state of the hosted sandbox,
served as a partner serves it: `messpunkt-sandbox --store-url` with one
worker (waitress), and with `--workers 2` (gunicorn), both on the one store.
Each comparison runs in rounds of a reference run then the scenario run, as
the rest of the bench does: whoami and the refresh grant on Redis against the
in-memory sandbox, and two workers against one. Beside each Redis figure,
what Redis did per request: round trips, commands and its own CPU time.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import redis
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from load import (
    ADMIN,
    ADMIN_KEY,
    free_port,
    refresh_tokens,
    rounds,
    server_counters,
    start,
    table,
    tokens,
    wrk,
)  # fmt: skip

BIN = Path(sys.executable).parent
ONE, TWO = "whoami, Redis, 1 worker", "whoami, Redis, 2 workers"
REFRESH = "refresh grant, Redis"
TARGETS = {ONE: 0.7, REFRESH: 0.6}
# Refresh tokens prepared per second of a run before any run showed the real rate: the
# in-memory sandbox's as in the rest of the bench; Redis rotates at half that at best.
PER_SECOND = {"memory": 4000, "redis": 2000}


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], redis.Redis]:
    """Start redis-server on a free port, nothing saved, and return it with a client."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing: make bench installs it (apt: redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"redis-server exited with {process.returncode}")
        try:
            client.ping()
            return process, client
        except redis.ConnectionError:
            time.sleep(0.01)
    process.terminate()
    raise SystemExit("redis-server did not answer within 10 s")


def write_signing_key(path: Path) -> Path:
    """Write a fresh P-256 key as PEM: every hosted worker must sign with the same one."""
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def on_store(store: redis.Redis, pid: int, run: Callable[[], dict]) -> dict:
    """Run `run` (a wrk run); add what Redis did per request: round trips, commands, CPU µs.

    A round trip is one reply Redis wrote (INFO's total_writes_processed): a
    pipeline or a script is one. Each count includes exactly one INFO of ours,
    the one before the run, and takes it off.
    """
    stats: Any = store.info("stats")
    cpu = server_counters(pid)
    result = run()
    after: Any = store.info("stats")
    cpu_after = server_counters(pid)
    count = result["requests"] or 1
    result["redis"] = {
        "round_trips": (after["total_writes_processed"] - stats["total_writes_processed"] - 1)
        / count,
        "commands": (after["total_commands_processed"] - stats["total_commands_processed"] - 1)
        / count,
        "cpu_us": (cpu_after[0] - cpu[0]) / count * 1e6 if cpu and cpu_after else None,
    }
    return result


def tokens_needed(fastest: float | None, per_second: int, seconds: int) -> int:
    """Return how many refresh tokens a run of `seconds` needs, with room to spare.

    Preparing them is most of the section's time, so after the first round,
    half again the fastest rate seen, never more than `per_second`; a run that
    outgrows them shows as bad responses.
    """
    if fastest is None:
        return per_second * seconds
    return min(per_second, math.ceil(1.5 * fastest)) * seconds


def measure(args: argparse.Namespace, memory_pid: int, memory_base: str) -> dict[str, Any]:
    """Measure the hosted comparisons against the running in-memory sandbox."""
    load = {"threads": args.wrk_threads, "connections": args.connections, "seconds": args.seconds}
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server, store = start_redis(scratch)
        stack.callback(_stop, server)
        one_port, two_port = free_port(), free_port()
        one, two = f"http://127.0.0.1:{one_port}", f"http://127.0.0.1:{two_port}"
        # One issuer for both, as behind one load balancer: a token from either works on both.
        env = {**os.environ, "MESSPUNKT_ISSUER": one, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY,
               "MESSPUNKT_SIGNING_KEY": str(write_signing_key(scratch / "signing.pem")),
               "MESSPUNKT_SECRET_KEY": "bench-cursor-secret"}  # fmt: skip
        url = f"redis://127.0.0.1:{store.connection_pool.connection_kwargs['port']}/0"
        command = [str(BIN / "messpunkt-sandbox"), "--store-url", url,
                   "--threads", str(args.threads)]  # fmt: skip
        one_server = start([*command, "--port", str(one_port)], f"{one}/openapi.json", env)
        stack.callback(_stop, one_server)
        two_server = start([*command, "--port", str(two_port), "--workers", "2"],
                           f"{two}/openapi.json", env)  # fmt: skip
        stack.callback(_stop, two_server)

        # Both stores start empty: the in-memory one holds the sessions of the runs before.
        for base in (memory_base, one):
            requests.post(f"{base}/sandbox/reset", headers=ADMIN, timeout=30).raise_for_status()
        with requests.Session() as http:
            memory_token = tokens(http, memory_base)["access_token"]
            redis_token = tokens(http, one)["access_token"]

        def whoami(pid: int, base: str, token: str) -> dict:
            return wrk(pid, f"{base}/v1/whoami", "get.lua", BENCH_TOKEN=token, **load)

        def on_redis(pid: int, base: str) -> dict:
            return on_store(store, server.pid, lambda: whoami(pid, base, redis_token))

        results = {
            ONE: rounds(
                args.rounds,
                lambda: whoami(memory_pid, memory_base, memory_token),
                lambda _: on_redis(one_server.pid, one),
            ),
            TWO: rounds(
                args.rounds,
                lambda: on_redis(one_server.pid, one),
                lambda _: on_redis(two_server.pid, two),
            ),
        }

        # As the in-memory refresh scenario: each round rotates tokens of its own,
        # prepared just before it in both stores, each freshly reset.
        files = {"memory": scratch / "memory_tokens.txt", "redis": scratch / "redis_tokens.txt"}

        fastest: dict[str, float] = {}

        def prepare(_: int) -> None:
            for name, base in (("memory", memory_base), ("redis", one)):
                requests.post(f"{base}/sandbox/reset", headers=ADMIN, timeout=30).raise_for_status()
                count = tokens_needed(fastest.get(name), PER_SECOND[name], args.seconds)
                files[name].write_text("\n".join(refresh_tokens(base, count)) + "\n")

        def refresh(pid: int, base: str, name: str) -> dict:
            result = wrk(pid, f"{base}/oauth/token", "refresh.lua",
                         BENCH_TOKENS=str(files[name]), **load)  # fmt: skip
            fastest[name] = max(fastest.get(name, 0.0), result["rps"])
            return result

        results[REFRESH] = rounds(
            args.rounds,
            lambda: refresh(memory_pid, memory_base, "memory"),
            lambda _: on_store(store, server.pid, lambda: refresh(one_server.pid, one, "redis")),
            prepare=prepare,
        )
        results["redis_version"] = store.info("server")["redis_version"]
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Print the hosted table; return what missed its target."""
    print(f"hosted: Redis {results['redis_version']} on the same cores; 1 worker = waitress "
          f"threads={args.threads}, 2 workers = gunicorn gthread of {args.threads} threads each; "
          f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.seconds}s, {args.rounds} "
          "rounds of reference + scenario")  # fmt: skip
    print("| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | switches/req "
          "| ratio | target |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    for reference, name in (("whoami, in memory", ONE), (ONE, TWO),
                            ("refresh grant, in memory", REFRESH)):  # fmt: skip
        rows[f"{reference} (reference)"] = {**results[name]["bare"], "ratio": 1.0, "bad": 0}
        rows[name] = results[name]
    failed = table(rows, TARGETS)
    print("(a ratio is the median round's scenario over the reference run just before it, "
          "the row above)")  # fmt: skip
    print("Redis per request (its commands include those its scripts run): " + "; ".join(
        f"{name} {figures['round_trips']:.1f} round trips, {figures['commands']:.1f} commands, "
        f"{_cpu(figures['cpu_us'])} µs CPU"
        for name in (ONE, TWO, REFRESH) for figures in (results[name]["redis"],)
    ))  # fmt: skip
    print("ratios per round: " + "; ".join(
        f"{name} {' '.join(format(r, '.2f') for r in results[name]['ratios'])}"
        for name in (ONE, TWO, REFRESH)
    ))  # fmt: skip
    return failed


def _cpu(value: float | None) -> str:
    return "—" if value is None else format(value, ".0f")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=15)
