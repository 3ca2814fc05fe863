"""The speed target of issue 4, checked on a smaller repeat of bench/bench_environments.py."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_environments.py"


def test_twenty_environments_two_thousand_distributions_under_300ms(capsys):
    spec = importlib.util.spec_from_file_location("bench_environments", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--envs", "20", "--dists", "100", "--repeat", "3", "--json", "--check"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["environments"] >= 20 and figures["distributions"] >= 2000
    assert figures["discover_locate_warm_ms"] < 300
