"""A user's project, as the docs show it (tests/user_project: a DAG, its tests, a conftest.py that
loads the plugin): its tests pass with only the shipped plugin's fixtures, in a fresh AIRFLOW_HOME,
with no AIRFLOW_* variable of ours and a connection stored in the metastore; and run with a user's
own AIRFLOW_HOME set, they leave it as it was."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.slow

PROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user_project")


def test_a_users_dag_tests_pass_with_the_plugin_alone(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["PYTHONPATH"] = ""
    run = run_user_tests(project, env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout


def run_user_tests(project, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    command += ["-W", "ignore::DeprecationWarning", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)


def test_the_walkthrough_then_the_users_tests_leave_that_airflow_as_it_was(tmp_path):
    """docs/own-project.md includes walkthrough.sh: the emulator, `airflow connections add`, `airflow
    connections test` and `airflow dags test`, in a fresh AIRFLOW_HOME and HOME. What it leaves is a
    user's own Airflow (an ice_default connection, a run history), with which the project's tests
    then run: as they are, and opted in to that Airflow. One test, in order. The docs' port (8765)
    becomes a free one in the copy run here: the matrix runs two cells side by side, each with this
    test, and two emulators cannot share a port."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    walkthrough = project / "walkthrough.sh"
    assert walkthrough.read_text().count("8765") == 2  # the emulator's --port and the connection's endpoint
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    walkthrough.write_text(walkthrough.read_text().replace("8765", str(port)))
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
    runs, published, _ = history(env["AIRFLOW_HOME"])
    assert runs == [("success",)] and published == [("success",)], (runs, published, output[-3000:])

    the_plugin_never_touches_a_users_own_airflow(project, env)
    opted_in_the_plugin_refuses_to_overwrite_a_users_connection(project, env)


def history(home: str) -> tuple[list[Any], list[Any], list[Any]]:
    """A user's run history and ice_default connection, as their metastore holds them."""
    # immutable: reading must not add files of its own (the WAL's) to the home it checks
    with sqlite3.connect(f"file:{os.path.join(home, 'airflow.db')}?immutable=1", uri=True) as db:
        runs = db.execute("SELECT state FROM dag_run WHERE dag_id = 'translate_talk'").fetchall()
        published = db.execute(
            "SELECT state FROM task_instance WHERE dag_id = 'translate_talk' AND task_id = 'publish'"
        ).fetchall()
        connection = db.execute(
            "SELECT conn_type, login, password, extra FROM connection WHERE conn_id = 'ice_default'"
        ).fetchall()
    return runs, published, connection


def snapshot(home: str) -> dict[str, str]:
    """Every file under ``home`` by its content's hash."""
    found = {}
    for folder, _, files in os.walk(home):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, home)] = hashlib.sha256(f.read()).hexdigest()
    return found


def the_plugin_never_touches_a_users_own_airflow(project: Any, env: dict[str, str]) -> None:
    """With AIRFLOW_HOME (and the database URL) set in the shell, as most users have them, the
    project's tests run in a throwaway Airflow: the user's files, connection and runs are as they were."""
    home = env["AIRFLOW_HOME"]
    before, (_, _, connection) = snapshot(home), history(home)
    assert [row[:2] for row in connection] == [("alibaba_cloud_ice", "LTAIemulatorKeyId")]  # their own ice_default
    # Their shell also names their metastore and a secrets backend holding another ice_default (one
    # that reaches nothing): a session that read either would fail or write there.
    secrets = os.path.join(os.path.dirname(home), "secrets-backend-connections.json")
    with open(secrets, "w") as f:
        json.dump({"ice_default": {"conn_type": "alibaba_cloud_ice", "extra": {"endpoint": "127.0.0.1:9"}}}, f)
    shell = {
        **env,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": secrets}),
    }
    run = run_user_tests(project, shell)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout
    assert snapshot(home) == before


def opted_in_the_plugin_refuses_to_overwrite_a_users_connection(project: Any, env: dict[str, str]) -> None:
    home = env["AIRFLOW_HOME"]
    before = history(home)
    run = run_user_tests(project, env, "--ice-use-airflow-home")
    assert run.returncode != 0
    assert "connection 'ice_default' already exists in the metastore of" in run.stdout, run.stdout[-4000:]
    assert "2 errors" in run.stdout, run.stdout[-2000:]
    assert history(home) == before
