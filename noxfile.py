"""The version matrix (`make test-matrix`): the suite and the demo on every Airflow line we admit.

One nox session per line, each in its own uv-built virtualenv with the package, its test group and
``constraints/airflow-<line>.txt`` (the Airflow release plus the few pins that line needs: Airflow's
published constraint files are not reachable from CI). ``report`` then writes ``build/matrix.md``:
per line, the tests passed, skipped (with the reasons) and failed, and the demo's result.
"""

from __future__ import annotations

import os
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "report"]

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)
from benchmarks.common import report_header  # noqa: E402

RESOLVED_ON = "2026-11-29T00:00:00Z"
RESULTS = os.path.join(ROOT, "build", "matrix")
LINES = sorted(
    (name.removeprefix("airflow-").removesuffix(".txt") for name in os.listdir(os.path.join(ROOT, "constraints"))),
    key=lambda line: tuple(int(part) for part in line.split(".")),
)


@nox.session(python="3.11")
@nox.parametrize("airflow", LINES)
def tests(session: nox.Session, airflow: str) -> None:
    """pytest (without the e2e suites) and the demo against one Airflow line."""
    results = Path(RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    for stale in (f"{airflow}.xml", f"{airflow}.version", f"{airflow}.demo"):
        (results / stale).unlink(missing_ok=True)
    # Releases after this date are not considered: a fresh clone resolves what the matrix last passed with.
    session.install(
        "-e", ".", "--group", "test", "-c", f"constraints/airflow-{airflow}.txt", env={"UV_EXCLUDE_NEWER": RESOLVED_ON}
    )
    version = session.run("python", "-c", "import airflow; print(airflow.__version__)", silent=True)
    (results / f"{airflow}.version").write_text(str(version).strip().splitlines()[-1])
    started = time.monotonic()
    # Three workers on two cores: the DAG-run tests mostly wait on dag.test()'s scheduling loop.
    # Left to `make test` and the e2e targets (the newest Airflow): the e2e suites, and what is the
    # same on every line: the benchmark smoke runs (the provider's own code) and the built wheel's
    # contents (this session's install already proves the package resolves with this Airflow).
    ignored = ["tests/e2e", "tests/test_benchmarks.py", "tests/test_dist.py"]
    pytest_args = ["-n", "3", "--dist", "worksteal", *(f"--ignore={path}" for path in ignored)]
    pytest_args.append(f"--junitxml={results}/{airflow}.xml")
    session.run("pytest", *pytest_args, *session.posargs)
    session.run("python", "scripts/demo.py")
    (results / f"{airflow}.demo").write_text(f"{time.monotonic() - started:.0f}")


@nox.session(python=False)
def report(session: nox.Session) -> None:
    """Summarise the lines' results in build/matrix.md (and print it)."""
    rows = ["| line | Airflow | passed | skipped | failed | demo | suite + demo | run (UTC) |", "|" + "---|" * 8]
    skips: dict[str, Counter[str]] = {}
    for line in LINES:
        junit, demo = Path(RESULTS, f"{line}.xml"), Path(RESULTS, f"{line}.demo")
        if not junit.exists():
            rows.append(f"| {line} | not run | | | | | | |")
            continue
        suite = ET.parse(junit).getroot().find("testsuite")
        assert suite is not None
        counts = {key: int(suite.get(key, 0)) for key in ("tests", "skipped", "failures", "errors")}
        skips[line] = Counter(
            (skipped.get("message") or "").removeprefix("Skipped: ") for skipped in suite.iter("skipped")
        )
        version = Path(RESULTS, f"{line}.version").read_text()
        seconds = demo.read_text() if demo.exists() else ""
        ran = time.strftime("%Y-%m-%d %H:%M", time.gmtime(junit.stat().st_mtime))
        passed = counts["tests"] - counts["skipped"] - counts["failures"] - counts["errors"]
        rows.append(
            f"| {line} | {version} | {passed} | {counts['skipped']} | {counts['failures'] + counts['errors']} "
            f"| {'ok' if seconds else 'not run' if counts['failures'] + counts['errors'] else 'FAILED'} "
            f"| {seconds or '-'} s | {ran} |"
        )
    lines = [*report_header("The version matrix", "make test-matrix"), *rows, "", "## Skipped, by line", ""]
    for line, reasons in skips.items():
        lines += [f"- **{line}**: " + "; ".join(f"{reason} (x{n})" for reason, n in sorted(reasons.items()))]
    text = "\n".join(lines) + "\n"
    Path(ROOT, "build", "matrix.md").write_text(text)
    session.log("\n" + text)
