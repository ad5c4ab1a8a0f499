"""`make bench`: load the sandbox with wrk, side by side with a bare Flask endpoint.

The sandbox is started exactly as `make sandbox` serves it (messpunkt-sandbox,
waitress, the same thread count). Every figure is printed with its ratio to
the bare endpoint measured just before it: each scenario runs in rounds of
bare then scenario, and the median round counts, because absolute numbers on
a shared machine drift by more than the differences measured. In-process
figures (create_app, the quickstart flow through the test client) are medians
over many runs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
PROPERTY = "6fb74d25-5517-4dcc-ae8b-0914579ab036"
REDIRECT = "http://localhost:3000/callback"
ADMIN_KEY = "bench-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}
TARGETS = {"whoami": 0.8, "usage units": 0.7, "consumption WE 01": 0.6, "refresh grant": 0.6}


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


def refresh_tokens(base: str, count: int) -> list[str]:
    """Prepare `count` refresh tokens, each of its own session."""

    def one(_: int) -> str:
        with requests.Session() as http:
            return tokens(http, base)["refresh_token"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


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


def wrk(
    pid: int, url: str, script: str, seconds: int, threads: int, connections: int, **env: str
) -> dict:
    """Load `url` with wrk; add req/s, and the serving process's CPU and switches per request."""
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(HERE / "wrk" / script), url,
    ]  # fmt: skip
    environment = {**os.environ, "BENCH_LUA_DIR": str(HERE / "wrk"),
                   "BENCH_WRK_THREADS": str(threads), **env}  # fmt: skip
    before = server_counters(pid)
    output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    after = server_counters(pid)
    result = json.loads(output.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["cpu_us"] = result["switches"] = None
    if before and after and result["requests"]:
        result["cpu_us"] = (after[0] - before[0]) / result["requests"] * 1e6
        result["switches"] = (after[1] - before[1]) / result["requests"]
    return result


def in_process(runs: int) -> dict[str, float]:
    """Median milliseconds of a fresh create_app() and of the quickstart through the test client."""
    sys.path.insert(0, str(ROOT))
    from messpunkt import create_app
    from messpunkt.testing import FROZEN_AT, obtain_tokens

    config = {"MESSPUNKT_FROZEN_AT": FROZEN_AT}
    create_app(config)  # warm the data set cache, as a test suite's first app does
    creation = []
    for _ in range(runs):
        started = time.perf_counter()
        app = create_app(config)
        creation.append(time.perf_counter() - started)
    client = app.test_client()
    flows = []
    for _ in range(runs):
        started = time.perf_counter()
        headers = obtain_tokens(client).bearer
        client.get("/v1/whoami", headers=headers)
        unit = client.get("/v1/usage-units", headers=headers).get_json()["data"][0]["id"]
        client.get(
            f"/v1/usage-units/{unit}/consumption?from=2026-01-01&to=2026-12-31&metric=water_warm",
            headers=headers,
        )
        flows.append(time.perf_counter() - started)
    return {
        "create_app()": statistics.median(creation) * 1000,
        "quickstart flow (test client)": statistics.median(flows) * 1000,
    }


SCALE_PROBE = """
import json, resource, statistics, sys, time
from messpunkt import create_app
from messpunkt.testing import obtain_tokens
started = time.perf_counter()
app = create_app({"MESSPUNKT_DATA_DIR": sys.argv[1]})
loaded = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
client = app.test_client()
headers = obtain_tokens(client).bearer
unit = client.get("/v1/usage-units", headers=headers).get_json()["data"][0]["id"]
url = f"/v1/usage-units/{unit}/consumption?from=2026-01-01&to=2026-12-31&metric=water_warm"
for _ in range(200):
    client.get(url, headers=headers)
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    assert client.get(url, headers=headers).status_code == 200
    times.append(time.perf_counter() - started)
median = statistics.median(times) * 1e6
print(json.dumps({"load_s": loaded, "peak_mb": peak_mb, "consumption_us": median}))
"""


def scale(units: int, runs: int) -> dict[str, dict[str, float]]:
    """Load the default and a generated large data set in fresh processes; time consumption."""
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        large = Path(scratch) / "large"
        subprocess.run([sys.executable, str(ROOT / "sandbox_data" / "generate.py"),
                        "--units", str(units), "--out", str(large)],
                       check=True, capture_output=True)  # fmt: skip
        for name, directory in (("default", ROOT / "sandbox_data"), (f"{units} units", large)):
            probe = [sys.executable, "-c", SCALE_PROBE, str(directory), str(runs)]
            output = subprocess.run(probe, check=True, capture_output=True, text=True, cwd=ROOT)
            results[name] = json.loads(output.stdout.strip().splitlines()[-1])
    return results


def memory_soak(env: dict[str, str]) -> dict[str, float]:
    """RSS (MB) of a fresh sandbox around tests/test_soak_memory.py's soak, run twice, every
    request through the real endpoints.

    A soak: 20,000 codes (one in four redeemed), 15,000 client-credentials tokens, 5,000
    rotations over 1,000 sessions with an access token revoked in each, one in five
    replayed and one in five revoked by its client; then the clock moves 400 days. The
    second soak shows whether the first left anything that grows.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start([str(BIN / "messpunkt-sandbox")], f"{base}/openapi.json",
                   {**env, "MESSPUNKT_PORT": str(port), "MESSPUNKT_ISSUER": base})  # fmt: skip
    service = ("sandbox-service-client", "sandbox-service-client-secret-change-me")
    verifier, challenge = pkce_pair()
    consent = {
        "client_id": "sandbox-demo-client", "redirect_uri": REDIRECT, "state": "soak",
        "scope": "read:units read:devices read:readings", "code_challenge": challenge,
        "code_challenge_method": "S256", "property": PROPERTY, "decision": "approve",
    }  # fmt: skip
    demo = {"client_id": "sandbox-demo-client"}

    def rss_mb() -> float:
        status = Path(f"/proc/{server.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
        return int(line.split()[1]) / 1024

    def post(http: requests.Session, path: str, form: dict, **kwargs: Any) -> requests.Response:
        response = http.post(f"{base}{path}", data=form, allow_redirects=False, timeout=30,
                             **kwargs)  # fmt: skip
        if response.status_code not in (200, 302, 400):  # 400: a replay, refused as it must be
            raise SystemExit(f"soak: {path} answered {response.status_code}: {response.text}")
        return response

    def login(http: requests.Session, redeem: bool) -> dict[str, str]:
        location = post(http, "/oauth/authorize", consent).headers["Location"]
        code = location.split("code=")[1].split("&")[0]
        if not redeem:
            return {}
        form = {**demo, "grant_type": "authorization_code", "code": code,
                "redirect_uri": REDIRECT, "code_verifier": verifier}  # fmt: skip
        return post(http, "/oauth/token", form).json()  # type: ignore[no-any-return]

    def chunk(index: int) -> None:
        with requests.Session() as http:
            for n in range(index, 20_000, 8):
                body = login(http, redeem=n % 4 == 0)
                if n % 4 == 0 and n < 4_000:  # 1,000 sessions rotate five times each
                    post(http, "/oauth/revoke", {**demo, "token": body["access_token"]})
                    first = token = body["refresh_token"]
                    for _ in range(5):
                        form = {**demo, "grant_type": "refresh_token", "refresh_token": token}
                        token = post(http, "/oauth/token", form).json()["refresh_token"]
                    if n % 20 == 0:
                        form = {**demo, "grant_type": "refresh_token", "refresh_token": first}
                        post(http, "/oauth/token", form)
                    elif n % 20 == 4:
                        post(http, "/oauth/revoke", {**demo, "token": token})
            for _ in range(index, 15_000, 8):
                post(http, "/oauth/token", {"grant_type": "client_credentials"}, auth=service)

    try:
        with requests.Session() as http:  # every path once, so the baseline has its imports
            login(http, redeem=True)
            post(http, "/oauth/token", {"grant_type": "client_credentials"}, auth=service)
        rss = {"before": rss_mb()}
        for soak in ("first", "second"):
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(chunk, range(8)))
            rss[f"{soak} soaked"] = rss_mb()
            requests.post(f"{base}/sandbox/clock/advance", json={"by": "P400D"}, headers=ADMIN,
                          timeout=60).raise_for_status()  # fmt: skip
            rss[f"{soak} purged"] = rss_mb()
        return rss
    finally:
        server.terminate()
        server.wait(timeout=10)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3, help="bare + scenario runs per scenario")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("MESSPUNKT_THREADS", 8)))
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=200, help="in-process repetitions")
    parser.add_argument("--scale-units", type=int, default=10_000, help="0 skips the scale run")
    parser.add_argument("--soak", action=argparse.BooleanOptionalAction, default=True,
                        help="RSS around the memory soak of a fresh server")  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: make bench installs it (apt-get install wrk)")

    bare_port, port = free_port(), free_port()
    bare_url, base = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{port}"
    env = {**os.environ, "MESSPUNKT_PORT": str(port), "MESSPUNKT_THREADS": str(args.threads),
           "MESSPUNKT_ISSUER": base, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}  # fmt: skip
    bare = start([sys.executable, str(HERE / "bare.py"), "--port", str(bare_port),
                  "--threads", str(args.threads)], f"{bare_url}/ping", env)  # fmt: skip
    sandbox = start([str(BIN / "messpunkt-sandbox")], f"{base}/openapi.json", env)
    load = {"threads": args.wrk_threads, "connections": args.connections, "seconds": args.seconds}

    def reference() -> dict:
        return wrk(bare.pid, f"{bare_url}/ping", "get.lua", **load)

    try:
        with requests.Session() as http:
            access = tokens(http, base)["access_token"]
            listing = http.get(
                f"{base}/v1/usage-units", headers={"Authorization": f"Bearer {access}"}
            )
            unit = listing.json()["data"][0]["id"]
        reads = {
            "whoami": f"{base}/v1/whoami",
            "usage units": f"{base}/v1/usage-units",
            "consumption WE 01": f"{base}/v1/usage-units/{unit}/consumption"
            "?from=2026-01-01&to=2026-12-31&metric=water_warm",
        }

        def read(url: str) -> Callable[[int], dict]:
            return lambda _: wrk(sandbox.pid, url, "get.lua", BENCH_TOKEN=access, **load)

        results = {name: rounds(args.rounds, reference, read(url)) for name, url in reads.items()}
        # Each round rotates refresh tokens of its own, more than it can get through,
        # prepared just before it from a freshly reset store: the reads above ran
        # without thousands of sessions, and no round inherits another's.
        with tempfile.TemporaryDirectory() as scratch:
            token_file = Path(scratch) / "refresh_tokens.txt"

            def prepare_refresh(_: int) -> None:
                requests.post(f"{base}/sandbox/reset", headers=ADMIN, timeout=30).raise_for_status()
                prepared = refresh_tokens(base, 4000 * args.seconds)
                token_file.write_text("\n".join(prepared) + "\n")

            results["refresh grant"] = rounds(
                args.rounds,
                reference,
                lambda _: wrk(
                    sandbox.pid,
                    f"{base}/oauth/token",
                    "refresh.lua",
                    BENCH_TOKENS=str(token_file),
                    **load,
                ),
                prepare=prepare_refresh,
            )
        verifier, challenge = pkce_pair()
        results["authorize + token"] = rounds(
            args.rounds,
            reference,
            lambda _: wrk(
                sandbox.pid,
                base,
                "flow.lua",
                threads=args.connections,
                connections=args.connections,
                seconds=args.seconds,
                BENCH_VERIFIER=verifier,
                BENCH_CHALLENGE=challenge,
            ),
        )
    finally:
        for process in (bare, sandbox):
            process.terminate()
            process.wait(timeout=10)

    bare_runs = [result["bare"] for result in results.values()]
    reference_rps = statistics.median(run["rps"] for run in bare_runs)
    print(f"waitress threads={args.threads}, wrk -t{args.wrk_threads} -c{args.connections} "
          f"-d{args.seconds}s, {args.rounds} rounds of bare + scenario, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print("| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | switches/req "
          "| ratio to bare | target |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    failed = []
    median_bare = sorted(bare_runs, key=lambda run: run["rps"])[len(bare_runs) // 2]
    rows = {"bare Flask JSON": {**median_bare, "ratio": 1.0, "bad": 0}, **results}
    for name, result in rows.items():
        target = TARGETS.get(name)
        if target is not None and result["ratio"] < target:
            failed.append(name)
        if result["bad"]:
            failed.append(f"{name} had {result['bad']} bad responses")
        print(f"| {name} | {result['rps']:.0f} | {result['p50_us'] / 1000:.2f} | "
              f"{result['p99_us'] / 1000:.2f} | {_figure(result['cpu_us'], '.0f')} | "
              f"{_figure(result['switches'], '.1f')} | {result['ratio']:.2f} | "
              f"{'≥ ' + format(target, '.1f') if target else '—'} |")  # fmt: skip
    print(
        f"(bare: median of {len(bare_runs)} runs, {reference_rps:.0f} req/s; a ratio is the "
        "median round's scenario over the bare run just before it)"
    )
    print("ratios per round: " + "; ".join(
        f"{name} {' '.join(format(r, '.2f') for r in result['ratios'])}"
        for name, result in results.items()
    ))  # fmt: skip
    flows = results["authorize + token"]["rps"] / 2
    print(f"(authorize + token: {flows:.0f} whole flows/s, two requests each)")
    print()
    print("| in process (median) | ms | target |")
    print("| --- | ---: | ---: |")
    for name, value in in_process(args.runs).items():
        target = 20 if name == "create_app()" else 5
        if value > target:
            failed.append(name)
        print(f"| {name} | {value:.2f} | ≤ {target} |")
    if args.scale_units:
        print()
        print("| data set | load s | peak MB | consumption µs (median) | ratio | target |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        sets = scale(args.scale_units, args.runs)
        default_us = sets["default"]["consumption_us"]
        for name, row in sets.items():
            ratio = row["consumption_us"] / default_us
            large = name != "default"
            if large and (row["load_s"] > 10 or row["peak_mb"] > 1536 or ratio > 1.5):
                failed.append(f"scale ({name})")
            print(f"| {name} | {row['load_s']:.1f} | {row['peak_mb']:.0f} | "
                  f"{row['consumption_us']:.0f} | {ratio:.2f} | "
                  f"{'≤ 10 s, ≤ 1536 MB, ≤ 1.5' if large else '—'} |")  # fmt: skip
    if args.soak:
        rss = memory_soak(env)
        ratio = rss["first purged"] / rss["before"]
        if ratio > 1.2:
            failed.append("memory soak")
        print()
        print("| memory soak (a fresh server, all over HTTP) | RSS MB | to before | target |")
        print("| --- | ---: | ---: | ---: |")
        for name, value in rss.items():
            label = name if name == "before" else f"{name}: " + (
                "20,000 codes, 15,000 service tokens, 5,000 rotations" if "soaked" in name
                else "the clock moved past every lifetime")  # fmt: skip
            goal = "≤ 1.2" if name == "first purged" else "—"
            print(f"| {label} | {value:.0f} | {value / rss['before']:.2f} | {goal} |")
    if failed:
        print(f"\nbelow target: {', '.join(failed)}")
        return 1
    return 0


def _figure(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


if __name__ == "__main__":
    raise SystemExit(main())
