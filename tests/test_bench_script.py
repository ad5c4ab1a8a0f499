"""The arithmetic of `make bench` (tests/benchmarks/), which no load run checks."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests

# The bench's modules import each other by name, as `python tests/benchmarks/run.py` finds them.
sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
bench = importlib.import_module("load")
hosted = importlib.import_module("hosted")


def _run(rps: float, bad: int = 0) -> dict:
    return {"rps": rps, "non_2xx_3xx": bad, "socket_errors": 0}


def test_rounds_take_the_median_round_by_ratio_each_against_its_own_bare_run() -> None:
    bares = iter([_run(1000), _run(2000), _run(500)])
    scenarios = iter([_run(900), _run(1000), _run(400, bad=2)])  # ratios 0.9, 0.5, 0.8
    calls: list[str] = []

    def bare() -> dict:
        calls.append("bare")
        return next(bares)

    def scenario(index: int) -> dict:
        calls.append(f"scenario {index}")
        return next(scenarios)

    result = bench.rounds(3, bare, scenario, prepare=lambda index: calls.append(f"prepare {index}"))

    assert result["ratio"] == pytest.approx(0.8)
    assert result["rps"] == 400
    assert result["bare"]["rps"] == 500
    assert result["ratios"] == pytest.approx([0.5, 0.8, 0.9])
    assert result["bad"] == 2
    assert calls == [
        "prepare 0", "bare", "scenario 0",
        "prepare 1", "bare", "scenario 1",
        "prepare 2", "bare", "scenario 2",
    ]  # fmt: skip


def test_an_even_number_of_rounds_counts_the_lower_middle_round() -> None:
    bares = iter([_run(100)] * 4)
    scenarios = iter([_run(70), _run(60), _run(90), _run(80)])

    result = bench.rounds(4, lambda: next(bares), lambda index: next(scenarios))

    assert result["ratio"] == pytest.approx(0.7)


_WORKER = """
import json, sys, threading, time

def own_counters():
    task = f"/proc/self/task/{threading.get_native_id()}"
    with open(f"{task}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    with open(f"{task}/status") as status:
        switches = sum(int(line.split()[1]) for line in status if "ctxt_switches" in line)
    return int(fields[11]) + int(fields[12]), switches  # utime + stime in ticks

def work():
    while own_counters()[0] < 5:  # five ticks of CPU, however long the machine takes
        pass
    for _ in range(20):
        time.sleep(0.001)  # not a wait: each sleep gives the CPU up, one switch at least
    print(json.dumps(own_counters()), flush=True)
    sys.stdin.readline()  # alive until measured: an ended thread's counters leave /proc

worker = threading.Thread(target=work)
worker.start()
worker.join()
"""


def _switches_of_task(pid: int, tid: int) -> int:
    lines = Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines()
    return sum(int(line.split()[1]) for line in lines if "ctxt_switches" in line)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_server_counters_add_up_cpu_time_and_switches_of_every_thread() -> None:
    # A child of our own whose work runs in a second thread: /proc/<pid>/status shows
    # only the main thread's switches, so a sum over the main thread alone falls short.
    # Counters only grow, so what the worker reported and what the main thread showed
    # before the measurement are lower bounds of it, however loaded the machine is.
    child = subprocess.Popen(
        [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        worker_ticks, worker_switches = json.loads(child.stdout.readline())
        main_switches = _switches_of_task(child.pid, child.pid)
        measured = bench.server_counters(child.pid)
    finally:
        child.communicate("measured\n", timeout=10)  # also closes the pipes
    assert measured is not None
    cpu, switches = measured
    assert worker_ticks >= 5 and worker_switches >= 20
    # The process's CPU includes the worker's; the kernel rounds utime and stime down to
    # whole ticks each, so the process's sum may come out one tick short of the worker's.
    assert cpu >= (worker_ticks - 1) / os.sysconf("SC_CLK_TCK")
    assert switches >= main_switches + worker_switches


def test_server_counters_of_a_process_that_is_gone_are_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=10)
    assert bench.server_counters(child.pid) is None
    assert os.getpid() != child.pid


_BUSY = """
import json, sys, time

def own_counters():
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    with open("/proc/self/status") as status:
        switches = sum(int(line.split()[1]) for line in status if "ctxt_switches" in line)
    return int(fields[11]) + int(fields[12]), switches  # utime + stime in ticks

while own_counters()[0] < 20:  # twenty ticks of CPU, however long the machine takes
    pass
for _ in range(20):
    time.sleep(0.001)  # each sleep gives the CPU up, one switch at least
print(json.dumps(own_counters()), flush=True)
sys.stdin.readline()  # alive until measured
"""

_PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
print(child.stdout.readline(), end="", flush=True)
child.communicate(sys.stdin.readline(), timeout=10)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_tree_counters_add_the_children_of_a_process_to_its_own() -> None:
    # A gunicorn master idles while its workers serve: a parent that waits while its
    # child works. The parent is blocked on its stdin from the first measurement on,
    # so its own counters stand still, and the child's are lower bounds of the rest.
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _BUSY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdin is not None and parent.stdout is not None
    try:
        child_ticks, child_switches = json.loads(parent.stdout.readline())
        own = bench.server_counters(parent.pid)
        measured = bench.tree_counters(parent.pid)
    finally:
        parent.communicate("measured\n", timeout=10)
    assert own is not None and measured is not None
    assert child_ticks >= 20 and child_switches >= 20
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert measured[0] >= own[0] + (child_ticks - 1) * tick  # one tick of rounding, as above
    assert measured[1] >= own[1] + child_switches


def test_tree_counters_of_a_process_that_is_gone_are_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=10)
    assert bench.tree_counters(child.pid) is None


@pytest.mark.live
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (make bench installs it)")
@pytest.mark.parametrize("count", [3, 20])  # fewer than wrk's 8 threads, and not a multiple
def test_prepared_refresh_tokens_are_as_many_as_asked_and_each_redeems_once(
    messpunkt_server, count
) -> None:
    prepared = bench.refresh_tokens(messpunkt_server.url, count)

    assert len(prepared) == count
    assert len(set(prepared)) == count
    with requests.Session() as http:
        statuses = [
            http.post(
                f"{messpunkt_server.url}/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": "sandbox-demo-client",
                    "refresh_token": token,
                },
            ).status_code
            for token in prepared
        ]
    assert statuses == [200] * count


@pytest.mark.parametrize(
    ("fastest", "needed"),
    [
        (None, 8000),  # no run yet: 2000 a second for 4 seconds
        (1000.0, 6000),  # 1.5 x 1000 a second for 4 seconds
        (1000.2, 6004),  # 1500.3 rounded up to 1501 a second
        (1500.0, 8000),  # 2250 a second would exceed the 2000 given
    ],
)
def test_later_rounds_prepare_half_again_the_fastest_rate_seen_up_to_the_given_rate(
    fastest, needed
) -> None:
    assert hosted.tokens_needed(fastest, 2000, 4) == needed


def test_redis_figures_count_a_pipeline_as_one_round_trip_of_all_its_commands(
    redis_server,
) -> None:
    # Ten "requests" of one pipeline of three commands each: 1 round trip and 3 commands
    # a request. The measuring client's own INFO calls must not count.
    client = redis.Redis.from_url(redis_server.url)
    client.ping()  # connected before the count starts, as a serving sandbox is

    def run() -> dict:
        for _ in range(10):
            pipe = client.pipeline(transaction=False)
            pipe.get("a")
            pipe.set("b", "1")
            pipe.exists("c")
            pipe.execute()
        return {"requests": 10}

    with redis.Redis.from_url(redis_server.url) as watcher:
        result = hosted.on_store(watcher, redis_server.process.pid, run)
    client.close()

    assert result["requests"] == 10
    assert result["redis"]["round_trips"] == 1.0
    assert result["redis"]["commands"] == 3.0
    assert result["redis"]["cpu_us"] >= 0
