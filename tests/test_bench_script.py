"""The arithmetic of `make bench` (tests/benchmarks/run.py), which no load run checks."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_run", Path(__file__).parent / "benchmarks" / "run.py"
)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


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
import sys, threading, time

done = threading.Event()

def work():
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    for _ in range(20):
        time.sleep(0.005)
    done.wait()  # alive until measured: an ended thread's counters leave /proc with it

sys.stdin.readline()
worker = threading.Thread(target=work)
worker.start()
sys.stdin.readline()
done.set()
worker.join()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_server_counters_add_up_cpu_time_and_switches_of_every_thread() -> None:
    # A child of our own, so nothing else moves its counters; it works in a second
    # thread, whose switches /proc/<pid>/status (the main thread's) does not show.
    child = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, text=True)
    assert child.stdin is not None
    try:
        time.sleep(0.2)  # started and waiting on its first line
        before = bench.server_counters(child.pid)
        child.stdin.write("go\n")
        child.stdin.flush()
        time.sleep(0.6)  # burned 0.3 s of CPU and slept 20 times
        after = bench.server_counters(child.pid)
    finally:
        child.communicate("done\n", timeout=10)  # also closes the pipe
    assert before is not None and after is not None
    assert after[0] - before[0] >= 0.25
    assert after[1] - before[1] >= 20  # each sleep gives the CPU up once


def test_server_counters_of_a_process_that_is_gone_are_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=10)
    assert bench.server_counters(child.pid) is None
    assert os.getpid() != child.pid
