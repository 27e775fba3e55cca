"""Small helpers the benchmarks share: the best time of a call, a measurement in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import time


def best_time(fn, repeats: int) -> float:
    """Seconds of the fastest of `repeats` calls of fn, after one warm-up call (thread pool,
    primitive creation)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run_child(args: list[str]) -> dict:
    """Run `python *args` (runtime tuning is process-wide) and return the JSON of its last line."""
    out = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
