"""A smoke pass of every benchmark (tiny sizes): they run, and their checks hold. `make bench` runs them in full."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_triggerer_density_smoke():
    out = run(
        "triggerer_density.py",
        "--triggers",
        "20",
        "--polls",
        "2",
        "--poll-interval",
        "0.2",
        "--cpu-calls",
        "20",
        "--baseline-calls",
        "2",
    )
    assert "20 / 20" in out  # every trigger ended with the right event
    assert "SDK *_async path" in out


def test_poll_profile_smoke():
    out = run("poll_profile.py", "--waits", "10", "--interval", "0.2", "--seconds", "2")
    assert "the SDK's signer" in out and "a poll, all of the above" in out


def test_import_cost_smoke():
    out = run("import_cost.py", "--runs", "1")
    assert "airflow_provider_ice.sensors.ice" in out


def test_api_calls_smoke():
    out = run("api_calls.py")
    assert "2-hour task at the default 30 s" in out


def test_bench_rows_smoke(tmp_path):
    """Every make bench row at tiny sizes, in one process (the mapped-starts row needs Airflow's
    services; its pacing is tested in test_rate_limit): the report is written and every wait ended right."""
    report = tmp_path / "bench.md"
    run("bench.py", "--smoke", "--out", str(report))
    text = report.read_text()
    for heading in (
        "## Flow control:",
        "## A fleet:",
        "## Draining",
        "triggers in one process",
        "## Ours against the floor",
    ):
        assert heading in text
    assert "| waits ending right | 40 | 40 |" in text
