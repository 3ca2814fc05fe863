"""bench/bench_environments.py runs and measures what it claims (the figures themselves go to bench/README.md;
speed is judged by the benchmark, not by a timed test)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_environments.py"


def test_bench_builds_twenty_environments_with_two_thousand_distributions(capsys):
    spec = importlib.util.spec_from_file_location("bench_environments", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--envs", "20", "--dists", "100", "--repeat", "3", "--json"]
    if Path("/dev/shm").is_dir():
        args += ["--tmp", "/dev/shm"]  # the build writes ~8,000 files; a busy disk makes that slow
    assert module.main(args) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["environments"] >= 20 and figures["distributions"] >= 2000
    assert figures["discover_locate_warm_ms"] > 0
