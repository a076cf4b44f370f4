"""Run the emulator: in a background thread of this process, or as a separate process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
from typing import Any

from aiohttp import web

from airflow_provider_ice.testing.emulator.backend import IceBackend
from airflow_provider_ice.testing.emulator.endpoint import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorEndpoint,
)
from airflow_provider_ice.testing.emulator.gateway import Gateway, GatewaySettings
from airflow_provider_ice.testing.emulator.protocol import make_app
from airflow_provider_ice.testing.emulator.tls import server_certificate, server_context


class IceEmulator(EmulatorEndpoint):
    """The ICE emulator served from a background thread of this process.

    ``emulator.backend`` is the live state: add workflows and tasks, inject faults, read counters.
    Use as a context manager or call :meth:`start` / :meth:`stop`.

    :param host: the address to listen on; default ``127.0.0.1``.
    :param port: the port; default 0: a free one (read ``port`` after :meth:`start`).
    :param tls: serve HTTPS with a certificate from a private CA (``ca_file``); default False: plain
        HTTP.
    :param access_keys: ``{access_key_id: secret}`` or ``{access_key_id: {"secret": ..., "security_token": ...}}``;
        defaults to one pair, :data:`.DEFAULT_ACCESS_KEY_ID` / :data:`.DEFAULT_ACCESS_KEY_SECRET`.
    :param backend: the state to serve; default None: a new :class:`.IceBackend`.
    :param tls_hostnames: more names for the TLS certificate (it always names localhost and
        127.0.0.1), to reach the emulator under another name, e.g. through a proxy; default none.
    :param tls_dir: where to keep the TLS CA (``ca.pem``, what a connection's ``verify`` names) and
        the server certificate it signs: the CA is made once and kept across restarts, the server
        certificate re-issued when it expires. Default None: a new CA in a temporary folder per start.
    :param check_date: refuse requests signed more than 15 minutes from this machine's clock
        (``InvalidTimeStamp.Expired``), as ICE's gateway does; default True; switch off for tests
        that freeze time.
    :param check_nonce: refuse a signature nonce seen in the last 15 minutes
        (``SignatureNonceUsed``); default True.
    :param max_request_line: a longer request line is answered 414 with an HTML page; default 8192
        (an assumption: ICE's real limit is not published).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        access_keys: dict[str, Any] | None = None,
        backend: IceBackend | None = None,
        tls_hostnames: tuple[str, ...] = (),
        tls_dir: str | None = None,
        check_date: bool = True,
        check_nonce: bool = True,
        max_request_line: int = GatewaySettings.max_request_line,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.gateway_settings = GatewaySettings(check_date, check_nonce, max_request_line)
        self.tls_hostnames, self.tls_dir = tls_hostnames, tls_dir
        self.backend = backend or IceBackend()
        self.access_keys: dict[str, Any] = access_keys or {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET}
        self.access_key_id = next(iter(self.access_keys))
        first = self.access_keys[self.access_key_id]
        self.access_key_secret = first if isinstance(first, str) else first["secret"]
        self.ca_file: str | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> IceEmulator:
        """Listen (in a background thread) and return self once ready."""
        ssl_context = None
        if self.tls:
            directory = self.tls_dir
            if directory is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="ice-emulator-")
                directory = self._tmp.name
            self.ca_file, cert, key = server_certificate(directory, self.tls_hostnames)
            ssl_context = server_context(cert, key)
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                gateway = Gateway(self.gateway_settings, self.access_keys)
                # aiohttp's own limit (8190) would answer a long line with 400 before the gateway's 414.
                line_limit = self.gateway_settings.max_request_line + 65536
                self._runner = web.AppRunner(make_app(self.backend, gateway), access_log=None, max_line_size=line_limit)
                loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context, backlog=4096)
                loop.run_until_complete(site.start())
                self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            except BaseException as exc:  # surfaced to start()'s caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="ice-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the ICE emulator did not start listening within 30 s")
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop serving (the backend keeps its state)."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
        self._loop = self._thread = None
        self._drop_tmp()


class IceEmulatorProcess(EmulatorEndpoint):
    """The emulator in its own process (``python -m airflow_provider_ice.testing.emulator``).

    Script it over its control routes: :meth:`add_workflow`, :meth:`update_workflow`, :meth:`add_task`,
    :meth:`inject`, :meth:`calls`, :meth:`set_flow_control`.

    :param port: the port on 127.0.0.1; default 0: a free one (read ``port`` after
        :meth:`start`).
    :param tls: serve HTTPS with a certificate from a private CA (``ca_file``); default False.
    :param scenario: workflows, tasks, faults and flow control to start with
        (:meth:`.IceBackend.load_scenario`), and ``access_keys`` (as :class:`IceEmulator`'s) whose
        first pair the connection then uses; default None.
    :param python: the interpreter to run it with; default this one.
    :param tls_dir: as :class:`IceEmulator`'s (implies ``tls``); default None.
    :param check_date: as :class:`IceEmulator`'s; default True.
    :param check_nonce: as :class:`IceEmulator`'s; default True.
    :param max_request_line: as :class:`IceEmulator`'s; default 8192.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        tls: bool = False,
        scenario: dict[str, Any] | None = None,
        python: str = sys.executable,
        tls_dir: str | None = None,
        check_date: bool = True,
        check_nonce: bool = True,
        max_request_line: int = GatewaySettings.max_request_line,
    ) -> None:
        self.host, self.port, self.tls, self.tls_dir = "127.0.0.1", port, tls or bool(tls_dir), tls_dir
        self.gateway_settings = GatewaySettings(check_date, check_nonce, max_request_line)
        self.access_key_id, self.access_key_secret = DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
        self.ca_file = None
        self._scenario, self._python = scenario, python
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> IceEmulatorProcess:
        """Start the process and return self once it listens."""
        self._tmp = tempfile.TemporaryDirectory(prefix="ice-emulator-")
        cmd = [self._python, "-m", "airflow_provider_ice.testing.emulator", "--port", str(self.port)]
        cmd += ["--max-request-line", str(self.gateway_settings.max_request_line)]
        if self.tls:
            cmd += ["--tls-dir", self.tls_dir] if self.tls_dir else ["--tls"]
        if not self.gateway_settings.check_date:
            cmd.append("--no-date-check")
        if not self.gateway_settings.check_nonce:
            cmd.append("--no-nonce-check")
        if self._scenario is not None:
            path = os.path.join(self._tmp.name, "scenario.json")
            with open(path, "w") as f:
                json.dump(self._scenario, f)
            cmd += ["--scenario", path]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the ICE emulator process exited before it was ready")
        info = json.loads(line)
        self.port, self.ca_file = info["port"], info.get("ca_file")
        # the scenario's access_keys, when it has some, replace the default pair
        self.access_key_id, self.access_key_secret = info["connection"]["login"], info["connection"]["password"]
        return self

    def stop(self) -> None:
        """Terminate the process (killed if it does not exit within 10 s)."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
        self._drop_tmp()

    def _control(self, what: str, payload: dict[str, Any] | None = None, method: str = "POST") -> Any:
        import ssl

        ctx = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{what}",
            data=None if method == "GET" else json.dumps(payload or {}).encode(),
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30, context=ctx) as response:
            return json.loads(response.read())

    def add_workflow(self, workflow_id: str, **template: Any) -> dict[str, Any]:
        """:meth:`.IceBackend.add_workflow` in the process (``POST /_emulator/workflows``).

        :param workflow_id: the workflow's id.
        :param template: :class:`.WorkflowTemplate`'s other fields.
        """
        return self._control("workflows", {"workflow_id": workflow_id, **template})

    def update_workflow(self, workflow_id: str, **changes: Any) -> dict[str, Any]:
        """:meth:`.IceBackend.update_workflow` in the process (``PATCH /_emulator/workflows``).

        :param workflow_id: the workflow to change.
        :param changes: :class:`.WorkflowTemplate` fields and their new values.
        """
        return self._control("workflows", {"workflow_id": workflow_id, **changes}, method="PATCH")

    def add_task(self, workflow_id: str, task_id: str | None = None, **kwargs: Any) -> str:
        """:meth:`.IceBackend.add_task` in the process (``POST /_emulator/tasks``); returns the id.

        :param workflow_id: the template it runs.
        :param task_id: its TaskId; default None: a random one.
        :param kwargs: ``inputs``, ``user_data``.
        """
        return self._control("tasks", {"workflow_id": workflow_id, "task_id": task_id, **kwargs})["task_id"]

    def inject(self, kind: str, count: int | None = 1, **kwargs: Any) -> None:
        """:meth:`.IceBackend.inject` in the process (``POST /_emulator/faults``).

        :param kind: one of :data:`.FAULT_KINDS`.
        :param count: how many calls to fault; default 1; None: every call.
        :param kwargs: :meth:`.IceBackend.inject`'s other parameters.
        """
        self._control("faults", {"kind": kind, "count": count, **kwargs})

    def plan_jobs(self, family: str, **plan: Any) -> dict[str, Any]:
        """How ``family``'s next jobs behave (``POST /_emulator/job_plans``; :class:`.jobs.JobPlan`).

        :param family: a job family's name (``media_producing``, ``snapshot``…: ``jobs.FAMILIES``).
        :param plan: :class:`.jobs.JobPlan`'s fields.
        """
        return self._control("job_plans", {"family": family, **plan})

    def add_job(self, family: str, job_id: str | None = None, **kwargs: Any) -> str:
        """A job as if submitted (``POST /_emulator/jobs``); returns its id.

        :param family: its family.
        :param job_id: its id; default None: a random one.
        :param kwargs: ``params`` and :class:`.jobs.JobPlan`'s fields.
        """
        return self._control("jobs", {"family": family, "job_id": job_id, **kwargs})["job_id"]

    def jobs(self) -> list[dict[str, Any]]:
        """Every job of the other families: ``{"family", "job_id", "status", "params"}``."""
        return list(self._control("jobs", method="GET")["jobs"])

    @property
    def pid(self) -> int | None:
        """The emulator process's id while it runs (to pin it to a core, say)."""
        return self._proc.pid if self._proc is not None else None

    def set_flow_control(self, action: str, rate: float | None, code: str = "Throttling.User") -> None:
        """Allow ``rate`` calls a second of ``action`` per account (``POST /_emulator/flow_control``).

        :param action: the action to limit (``GetAIWorkflowTask``…).
        :param rate: calls a second, with a one-second burst; None: no limit.
        :param code: what a refused call answers: ``Throttling.User`` (default) or
            ``RequestsTooFrequent``.
        """
        self._control("flow_control", {"action": action, "rate": rate, "code": code})

    def refused(self, action: str) -> int:
        """Calls of ``action`` refused by the flow control so far.

        :param action: the action.
        """
        return int(self._control("calls").get("refused", {}).get(action, 0))

    def tasks(self) -> list[dict[str, Any]]:
        """Every task the emulator holds: ``{"task_id", "workflow_id", "status", "user_data"}``."""
        return list(self._control("tasks", method="GET")["tasks"])

    def call_counts(self) -> list[dict[str, Any]]:
        """Requests received so far: ``{"action", "task_id", "count"}`` rows."""
        return list(self._control("calls")["calls"])

    def calls(self, action: str | None = None, task_id: str | None = None) -> int:
        """Requests received so far (:meth:`.IceBackend.calls`, ``GET /_emulator/calls``).

        :param action: count only this action's; default None: every action.
        :param task_id: count only calls naming this TaskId; default None: any.
        """
        rows = self.call_counts()
        return sum(
            r["count"]
            for r in rows
            if (action is None or r["action"] == action) and (task_id is None or r["task_id"] == task_id)
        )
