"""Start and stop a real Airflow deployment on 127.0.0.1: PostgreSQL (never SQLite), Redis (for the
Celery broker), api-server, scheduler, dag-processor, triggerers and Celery workers, each its own
process. Every process is ours and is stopped, also on failure."""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

AIRFLOW = os.path.join(os.path.dirname(sys.executable), "airflow")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless on a closed network: no background connections, no sandbox (CI runs as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip where Debian's Chromium is absent, unless ICE_REQUIRE_BROWSER=1 (``.ci/run`` installs it
    and sets that, so CI cannot skip a browser test silently)."""
    import pytest

    if not os.path.exists(CHROMIUM):
        if os.environ.get("ICE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ICE_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}: install Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package chromium; .ci/run installs it)")


COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def load_dag_file(path: str) -> ModuleType:
    """A DAG file of the e2e suites as a module (the tests read its constants), not via sys.path:
    the folder is the deployment's dags_folder, not a package."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    """A private PostgreSQL cluster in a temporary directory, on a free loopback port."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise FileNotFoundError("no PostgreSQL server binaries")
        self.bin = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="ice-e2e-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()

    def start(self) -> str:
        os.mkdir(self.data)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
            shutil.chown(self.dir, "postgres", "postgres")
        run: dict[str, Any] = {"check": True, "capture_output": True, "timeout": 120}
        subprocess.run(_as_postgres([f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "airflow"]), **run)
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.dir}"
        log = os.path.join(self.dir, "postgres.log")
        subprocess.run(
            _as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-o", opts, "-l", log, "-w", "start"]), **run
        )
        subprocess.run(
            _as_postgres([f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow", "airflow"]),
            **run,
        )
        return f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/airflow"

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


def _tree(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    import psutil

    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _kill_tree(pid: int, sig: int) -> None:
    for member in _tree(pid):
        _signal(member, sig)


class Redis:
    """A private redis-server (Debian's package) on a free loopback port, no persistence."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(self.binary):
            raise FileNotFoundError("no redis-server: install Debian's redis-server (.ci/run does so when missing)")
        self.dir = tempfile.mkdtemp(prefix="ice-e2e-redis-")
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with open(os.path.join(self.dir, "redis.log"), "wb") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(
                [self.binary, *args, "--dir", self.dir], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return f"redis://127.0.0.1:{self.port}/0"
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (exit {self.process.poll()})")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class AirflowStack:
    """Airflow on PostgreSQL. ``components`` maps a process name to its ``airflow`` arguments
    (default: one api-server, scheduler, dag-processor and triggerer, LocalExecutor)."""

    def __init__(
        self,
        home: str,
        dags_folder: str,
        extra_env: dict[str, str],
        components: tuple[str, ...] | dict[str, list[str]] = COMPONENTS,
    ) -> None:
        self.home = home
        self.components = {name: [name] for name in components} if isinstance(components, tuple) else components
        #: environment variables of one component only (on top of the shared ones)
        self.component_env: dict[str, dict[str, str]] = {}
        self.port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.postgres: Postgres | None = None
        #: components this test killed on purpose (their SIGKILL exit is expected)
        self.killed: set[str] = set()
        # Never SQLite: a green run must prove the real metadata database was used.
        try:
            self.postgres = Postgres()
            db_url = self.postgres.start()
        except (OSError, subprocess.SubprocessError) as exc:
            if self.postgres is not None:
                self.postgres.stop()
            detail = getattr(exc, "stderr", None) or b""
            raise RuntimeError(
                f"PostgreSQL could not be started ({exc} {detail.decode(errors='replace')[-500:]}); the e2e "
                "suite does not fall back to SQLite. Install Debian's postgresql (.ci/run does so when the "
                "binaries are missing)."
            ) from exc
        self.db_url = db_url
        self.env = {
            **os.environ,
            **extra_env,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": dags_folder,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "ice-e2e-jwt-secret-with-enough-length-0123456789",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
        self.env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}"
                f"\n{result.stderr[-3000:]}"
            )
        return result

    def start(self, connections: tuple[list[str], ...] = ()) -> None:
        """Migrate, store ``connections`` (``airflow connections add`` arguments: in the metastore,
        as users store them, never as environment variables), then start every component."""
        self.airflow("db", "migrate")
        for args in connections:
            self.airflow(*args)
        for name, args in self.components.items():
            log = open(os.path.join(self.home, f"{name}.log"), "wb")  # noqa: SIM115 (closed with the process)
            env = {**self.env, **self.component_env.get(name, {})}
            self.processes[name] = subprocess.Popen(
                [AIRFLOW, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self, name: str) -> None:
        """SIGKILL a component and every process under it, as if its machine died (task processes
        run in process groups of their own, so the whole tree is killed, not just the group)."""
        self.killed.add(name)
        _kill_tree(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(30)

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None and name not in self.killed:
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    def wait_for(
        self, what: str, check: Callable[[], Any], timeout: float, describe: Callable[[], Any] | None = None
    ) -> Any:
        """Poll ``check`` until it returns something truthy (failing at once if a component died);
        on timeout, fail with ``what`` and what ``describe`` reports of the state then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            result = check()
            if result:
                return result
            time.sleep(0.25)
        found = f"; {describe()}" if describe else ""
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{found}")

    def logs_containing(self, text: str) -> list[str]:
        """Every log file under this home (components and task logs) that contains ``text``."""
        found = []
        for folder, _, files in os.walk(self.home):
            for file in files:
                if file.endswith(".log") or folder.startswith(os.path.join(self.home, "logs")):
                    path = os.path.join(folder, file)
                    with open(path, errors="replace") as f:
                        if text in f.read():
                            found.append(path)
        return found

    def log_tail(self, name: str, chars: int = 3000) -> str:
        try:
            with open(os.path.join(self.home, f"{name}.log"), errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop every process started, then PostgreSQL, whatever fails on the way."""
        try:
            trees = {name: _tree(proc.pid) for name, proc in self.processes.items() if proc.poll() is None}
            for proc in self.processes.values():
                if proc.poll() is None:
                    _signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            for proc in self.processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(0.1, deadline - time.monotonic()))
            for pids in trees.values():  # whatever is left, task processes included
                for pid in pids:
                    _signal(pid, signal.SIGKILL)
            for proc in self.processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
        finally:
            if self.postgres is not None:
                self.postgres.stop()

    def stop_showing_logs(self, chars: int = 1200) -> None:
        """:meth:`stop`, then the tail of every component's log (for the test's report on failure)."""
        self.stop()
        for name in self.components:
            print(f"----- {name} (tail) -----\n{self.log_tail(name, chars)}")

    def query(self, sql: str, **params: Any) -> list[Any]:
        import sqlalchemy

        engine = getattr(self, "_engine", None)
        if engine is None:
            engine = self._engine = sqlalchemy.create_engine(self.db_url)
        with engine.connect() as conn:
            return list(conn.execute(sqlalchemy.text(sql), params))
