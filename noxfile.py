"""The version matrix (`make test-matrix`): the suite and the demo on every Airflow line and every
Python line we admit.

One nox session per cell (a Python line and an Airflow line), each in its own uv-built virtualenv with
the package, its test group and ``constraints/airflow-<line>.txt`` (the Airflow release plus the few
pins that line needs: Airflow's published constraint files are not reachable from CI). Every Airflow
line runs on Python 3.11 (the oldest we admit); the newer Pythons run where Airflow's own images and
users are: 3.13 with the newest Airflow, 3.12 with the oldest. ``report`` then writes
``build/matrix.md``: per cell, the tests passed, skipped (with the reasons) and failed, and the
demo's result.
"""

from __future__ import annotations

import glob
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
#: (Python, Airflow): every Airflow line on the oldest Python, then the newer Pythons.
CELLS = [*(("3.11", line) for line in LINES), ("3.12", LINES[0]), ("3.13", LINES[-1])]


def _pyenv_interpreters() -> None:
    """Put pyenv's newest 3.12 and 3.13 on PATH (where this machine kind has them): pyenv's shims
    answer only for the versions `pyenv global` names, and uv looks for ``python3.<minor>`` on PATH."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for minor in sorted({python for python, _ in CELLS}):
        found = glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin", f"python{minor}"))
        releases = [path for path in found if path.split(os.sep)[-3].replace(".", "").isdigit()]  # not 3.13.0t
        if releases:
            newest = max(releases, key=lambda path: tuple(int(n) for n in path.split(os.sep)[-3].split(".")))
            os.environ["PATH"] = os.path.dirname(newest) + os.pathsep + os.environ["PATH"]


_pyenv_interpreters()


def cell_name(python: str, airflow: str) -> str:
    """The file stem of a cell's results under build/matrix/."""
    return f"py{python}-airflow{airflow}"


@nox.session
@nox.parametrize(("python", "airflow"), CELLS)
def tests(session: nox.Session, airflow: str) -> None:
    """pytest (without the e2e suites) and the demo in one cell: a Python line and an Airflow line."""
    results = Path(RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    cell = cell_name(str(session.python), airflow)
    for stale in (f"{cell}.xml", f"{cell}.version", f"{cell}.demo", f"{cell}.demo.log"):
        (results / stale).unlink(missing_ok=True)
    # Releases after this date are not considered: a fresh clone resolves what the matrix last passed with.
    session.install(
        "-e", ".", "--group", "test", "-c", f"constraints/airflow-{airflow}.txt", env={"UV_EXCLUDE_NEWER": RESOLVED_ON}
    )
    version = session.run(
        "python", "-c", "import sys, airflow; print(sys.version.split()[0], airflow.__version__)", silent=True
    )
    (results / f"{cell}.version").write_text(str(version).strip().splitlines()[-1])
    started = time.monotonic()
    # Workers: PYTEST_XDIST_AUTO_NUM_WORKERS (make test-matrix sets it: 3 for one cell on two cores,
    # as the DAG-run tests mostly wait on dag.test()'s scheduling loop; 2 per cell when cells run
    # side by side), else one per core.
    # Left to `make test` and the e2e targets (the newest Airflow): the e2e suites, and what is the
    # same on every line: the benchmark smoke runs (the provider's own code) and the built wheel's
    # contents (this session's install already proves the package resolves with this Airflow).
    ignored = ["tests/e2e", "tests/test_benchmarks.py", "tests/test_dist.py"]
    pytest_args = ["-n", "auto", "--dist", "worksteal", *(f"--ignore={path}" for path in ignored)]
    pytest_args.append(f"--junitxml={results}/{cell}.xml")
    session.run("pytest", *pytest_args, *session.posargs)
    session.run("python", "scripts/demo.py", env={"ICE_DEMO_LOG": str(results / f"{cell}.demo.log")})
    (results / f"{cell}.demo").write_text(f"{time.monotonic() - started:.0f}")


@nox.session(python=False)
def report(session: nox.Session) -> None:
    """Summarise the cells' results in build/matrix.md (and print it)."""
    header = "| Python | Airflow line | versions | passed | skipped | failed | demo | suite + demo | run (UTC) |"
    rows = [header, "|" + "---|" * 9]
    skips: dict[str, Counter[str]] = {}
    for python, line in CELLS:
        cell = cell_name(python, line)
        junit, demo = Path(RESULTS, f"{cell}.xml"), Path(RESULTS, f"{cell}.demo")
        if not junit.exists():
            rows.append(f"| {python} | {line} | not run | | | | | | |")
            continue
        suite = ET.parse(junit).getroot().find("testsuite")
        assert suite is not None
        counts = {key: int(suite.get(key, 0)) for key in ("tests", "skipped", "failures", "errors")}
        skips[f"Python {python}, Airflow {line}"] = Counter(
            (skipped.get("message") or "").removeprefix("Skipped: ") for skipped in suite.iter("skipped")
        )
        version = " + ".join(Path(RESULTS, f"{cell}.version").read_text().split())
        seconds = demo.read_text() if demo.exists() else ""
        ran = time.strftime("%Y-%m-%d %H:%M", time.gmtime(junit.stat().st_mtime))
        failed = counts["failures"] + counts["errors"]
        passed = counts["tests"] - counts["skipped"] - failed
        rows.append(
            f"| {python} | {line} | {version} | {passed} | {counts['skipped']} | {failed} "
            f"| {'ok' if seconds else 'not run' if failed else 'FAILED'} "
            f"| {seconds or '-'} s | {ran} |"
        )
    lines = [*report_header("The version matrix", "make test-matrix"), *rows, "", "## Skipped, by cell", ""]
    for line, reasons in skips.items():
        lines += [f"- **{line}**: " + "; ".join(f"{reason} (x{n})" for reason, n in sorted(reasons.items()))]
    text = "\n".join(lines) + "\n"
    Path(ROOT, "build", "matrix.md").write_text(text)
    session.log("\n" + text)
