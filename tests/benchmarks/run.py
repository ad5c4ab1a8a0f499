"""`make bench`: load the sandbox with wrk, side by side with a bare Flask endpoint.

The sandbox is started exactly as `make sandbox` serves it (messpunkt-sandbox,
waitress, the same thread count). Every figure is printed with its ratio to
the bare endpoint measured just before it: each scenario runs in rounds of
bare then scenario, and the median round counts, because absolute numbers on
a shared machine drift by more than the differences measured. The hosted
section (hosted.py; alone with --hosted-only) compares the same way: the
sandbox on Redis against the in-memory one, two gunicorn workers against one.
In-process figures (create_app, the quickstart flow through the test client)
are medians over many runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import hosted
import requests
import soak
from load import (
    ADMIN,
    ADMIN_KEY,
    HERE,
    ROOT,
    free_port,
    pkce_pair,
    refresh_tokens,
    rounds,
    start,
    table,
    tokens,
    wrk,
)

BIN = Path(sys.executable).parent
TARGETS = {"whoami": 0.8, "usage units": 0.7, "consumption WE 01": 0.6, "refresh grant": 0.6}


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


def in_memory(
    args: argparse.Namespace, sandbox_pid: int, base: str, env: dict[str, str]
) -> dict[str, dict]:
    """Run the in-memory sandbox's scenarios in rounds, each against a bare Flask endpoint."""
    bare_port = free_port()
    bare_url = f"http://127.0.0.1:{bare_port}"
    bare = start([sys.executable, str(HERE / "bare.py"), "--port", str(bare_port),
                  "--threads", str(args.threads)], f"{bare_url}/ping", env)  # fmt: skip
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
            return lambda _: wrk(sandbox_pid, url, "get.lua", BENCH_TOKEN=access, **load)

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
                    sandbox_pid,
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
                sandbox_pid,
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
        bare.terminate()
        bare.wait(timeout=10)
    return results


def report(results: dict[str, dict], args: argparse.Namespace) -> list[str]:
    """Print the in-memory table; return what missed its target."""
    bare_runs = [result["bare"] for result in results.values()]
    reference_rps = statistics.median(run["rps"] for run in bare_runs)
    print(f"waitress threads={args.threads}, wrk -t{args.wrk_threads} -c{args.connections} "
          f"-d{args.seconds}s, {args.rounds} rounds of bare + scenario, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print("| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | switches/req "
          "| ratio to bare | target |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    median_bare = sorted(bare_runs, key=lambda run: run["rps"])[len(bare_runs) // 2]
    failed = table({"bare Flask JSON": {**median_bare, "ratio": 1.0, "bad": 0}, **results}, TARGETS)
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
    return failed


def in_process_and_scale(args: argparse.Namespace) -> list[str]:
    """Measure and print the in-process and scale tables; return what missed its target."""
    failed = []
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
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4, help="wrk duration per run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="reference + scenario runs per scenario"
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("MESSPUNKT_THREADS", 8)))
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=200, help="in-process repetitions")
    parser.add_argument("--scale-units", type=int, default=10_000, help="0 skips the scale run")
    parser.add_argument(
        "--hosted-only", action="store_true", help="only the hosted section (Redis, gunicorn)"
    )
    parser.add_argument(
        "--soak",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="RSS of a fresh server around the memory soak (about 3 min)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: make bench installs it (apt-get install wrk)")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MESSPUNKT_PORT": str(port), "MESSPUNKT_THREADS": str(args.threads),
           "MESSPUNKT_ISSUER": base, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}  # fmt: skip
    sandbox = start([str(BIN / "messpunkt-sandbox")], f"{base}/openapi.json", env)
    try:
        results = {} if args.hosted_only else in_memory(args, sandbox.pid, base, env)
        on_redis = hosted.measure(args, sandbox.pid, base)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)

    failed = []
    if results:
        failed += report(results, args)
        print()
    failed += hosted.report(on_redis, args)
    if not args.hosted_only:
        failed += in_process_and_scale(args)
        if args.soak:
            failed += soak.report(soak.memory_soak(env))
    if failed:
        print(f"\nbelow target: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
