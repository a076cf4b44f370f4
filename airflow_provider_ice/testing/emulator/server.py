"""Run the emulator: in a background thread of this process, or as a separate process."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import urllib.request
from typing import Any, Self

from aiohttp import web

from airflow_provider_ice import DEFAULT_CONN_ID
from airflow_provider_ice.testing.emulator.backend import IceBackend
from airflow_provider_ice.testing.emulator.gateway import Gateway, GatewaySettings
from airflow_provider_ice.testing.emulator.protocol import make_app
from airflow_provider_ice.testing.emulator.tls import server_certificate, server_context

DEFAULT_ACCESS_KEY_ID = "LTAIemulatorKeyId"
DEFAULT_ACCESS_KEY_SECRET = "emulator-secret-do-not-use"
DEFAULT_REGION = "cn-shanghai"


class _Endpoint:
    """What a client needs to reach a running emulator; a context manager around start/stop."""

    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _drop_tmp(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    host: str
    port: int
    tls: bool
    ca_file: str | None
    access_key_id: str
    access_key_secret: str

    @property
    def endpoint(self) -> str:
        """``host:port``, the connection's ``endpoint`` extra."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    def connection_extras(self, region_id: str = DEFAULT_REGION, **more: Any) -> dict[str, Any]:
        """Extras of an ``alibaba_cloud_ice`` connection pointing here."""
        extras: dict[str, Any] = {
            "region_id": region_id,
            "endpoint": self.endpoint,
            "protocol": "https" if self.tls else "http",
        }
        if self.tls:
            extras["verify"] = self.ca_file
        extras.update(more)
        return extras

    def connection_uri(self, conn_type: str = "alibaba_cloud_ice", **more: Any) -> str:
        """An Airflow connection as JSON (for ``AIRFLOW_CONN_ICE_DEFAULT``)."""
        return json.dumps(
            {
                "conn_type": conn_type,
                "login": self.access_key_id,
                "password": self.access_key_secret,
                "extra": self.connection_extras(**more),
            }
        )

    def export_line(self, conn_id: str = DEFAULT_CONN_ID, **more: Any) -> str:
        """A shell line that defines ``conn_id`` through its environment variable."""
        return f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(self.connection_uri(**more))}"

    def connections_add_args(self, conn_id: str = DEFAULT_CONN_ID, **more: Any) -> list[str]:
        """``airflow connections add`` arguments (after ``airflow``) that store ``conn_id`` in the
        metastore, as the UI or a platform team would."""
        return [
            "connections",
            "add",
            conn_id,
            "--conn-type",
            "alibaba_cloud_ice",
            "--conn-login",
            self.access_key_id,
            "--conn-password",
            self.access_key_secret,
            "--conn-extra",
            json.dumps(self.connection_extras(**more)),
        ]


class IceEmulator(_Endpoint):
    """The ICE emulator served from a background thread of this process.

    ``emulator.backend`` is the live state: add workflows and tasks, inject faults, read counters.
    Use as a context manager or call :meth:`start` / :meth:`stop`.

    :param access_keys: ``{access_key_id: secret}`` or ``{access_key_id: {"secret": ..., "security_token": ...}}``;
        defaults to one pair, :data:`DEFAULT_ACCESS_KEY_ID` / :data:`DEFAULT_ACCESS_KEY_SECRET`.
    :param tls_hostnames: more names for the TLS certificate (it always names localhost and
        127.0.0.1), to reach the emulator under another name, e.g. through a proxy.
    :param tls_dir: where to keep the TLS CA (``ca.pem``, what a connection's ``verify`` names) and
        the server certificate it signs: the CA is made once and kept across restarts, the server
        certificate re-issued when it expires. None: a new CA in a temporary folder per start.
    :param check_date: refuse requests signed more than 15 minutes from this machine's clock
        (``InvalidTimeStamp.Expired``), as ICE's gateway does; switch off for tests that freeze time.
    :param check_nonce: refuse a signature nonce seen in the last 15 minutes (``SignatureNonceUsed``).
    :param max_request_line: a longer request line is answered 414 with an HTML page (ICE's real
        limit is not published).
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
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
        self._loop = self._thread = None
        self._drop_tmp()


class IceEmulatorProcess(_Endpoint):
    """The emulator in its own process (``python -m airflow_provider_ice.testing.emulator``).

    Script it over its control routes: :meth:`add_workflow`, :meth:`update_workflow`, :meth:`add_task`,
    :meth:`inject`, :meth:`calls`. ``tls_dir``, ``check_date``, ``check_nonce`` and
    ``max_request_line`` are :class:`IceEmulator`'s.
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
        return self

    def stop(self) -> None:
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
        return self._control("workflows", {"workflow_id": workflow_id, **template})

    def update_workflow(self, workflow_id: str, **changes: Any) -> dict[str, Any]:
        return self._control("workflows", {"workflow_id": workflow_id, **changes}, method="PATCH")

    def add_task(self, workflow_id: str, task_id: str | None = None, **kwargs: Any) -> str:
        return self._control("tasks", {"workflow_id": workflow_id, "task_id": task_id, **kwargs})["task_id"]

    def inject(self, kind: str, count: int | None = 1, **kwargs: Any) -> None:
        self._control("faults", {"kind": kind, "count": count, **kwargs})

    @property
    def pid(self) -> int | None:
        """The emulator process's id while it runs (to pin it to a core, say)."""
        return self._proc.pid if self._proc is not None else None

    def set_flow_control(self, action: str, rate: float | None, code: str = "Throttling.User") -> None:
        """Allow ``rate`` calls a second of ``action`` per account (None: no limit)."""
        self._control("flow_control", {"action": action, "rate": rate, "code": code})

    def refused(self, action: str) -> int:
        """Calls of ``action`` refused by the flow control so far."""
        return int(self._control("calls").get("refused", {}).get(action, 0))

    def tasks(self) -> list[dict[str, Any]]:
        """Every task the emulator holds: ``{"task_id", "workflow_id", "status", "user_data"}``."""
        return list(self._control("tasks", method="GET")["tasks"])

    def call_counts(self) -> list[dict[str, Any]]:
        """Requests received so far: ``{"action", "task_id", "count"}`` rows."""
        return list(self._control("calls")["calls"])

    def calls(self, action: str | None = None, task_id: str | None = None) -> int:
        rows = self.call_counts()
        return sum(
            r["count"]
            for r in rows
            if (action is None or r["action"] == action) and (task_id is None or r["task_id"] == task_id)
        )
