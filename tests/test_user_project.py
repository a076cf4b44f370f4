"""A user's project, as the docs show it (tests/user_project: a DAG, its tests, a conftest.py that
loads the plugin): its tests pass with only the shipped plugin's fixtures, in a fresh AIRFLOW_HOME,
with no AIRFLOW_* variable of ours and a connection stored in the metastore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

PROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user_project")


def test_a_users_dag_tests_pass_with_the_plugin_alone(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["PYTHONPATH"] = ""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-W",
            "ignore::DeprecationWarning",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout


def test_the_walkthrough_runs_as_the_docs_show_it(tmp_path):
    """docs/own-project.md includes walkthrough.sh: the emulator, `airflow connections add`, `airflow
    connections test` and `airflow dags test`, in a fresh AIRFLOW_HOME and HOME."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        HOME=str(tmp_path),
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PATH=os.path.dirname(sys.executable) + os.pathsep + env["PATH"],  # this venv's python and airflow
        PYTHONPATH="",
    )
    run = subprocess.run(
        ["bash", str(project / "walkthrough.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "Connection success!" in output
    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as db:
        runs = db.execute("SELECT state FROM dag_run WHERE dag_id = 'translate_talk'").fetchall()
        published = db.execute(
            "SELECT state FROM task_instance WHERE dag_id = 'translate_talk' AND task_id = 'publish'"
        ).fetchall()
    assert runs == [("success",)] and published == [("success",)], (runs, published, output[-3000:])
