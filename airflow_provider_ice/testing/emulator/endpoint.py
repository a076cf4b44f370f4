"""What a client needs to reach a running emulator, and the connections that point at it."""

from __future__ import annotations

import json
import shlex
import tempfile
from typing import Any, Self

from airflow_provider_ice import DEFAULT_CONN_ID

#: The AccessKey ID the emulator accepts unless told otherwise.
DEFAULT_ACCESS_KEY_ID = "LTAIemulatorKeyId"
#: Its secret (a test value: never a real one).
DEFAULT_ACCESS_KEY_SECRET = "emulator-secret-do-not-use"
#: The region of the connections it describes.
DEFAULT_REGION = "cn-shanghai"


class EmulatorEndpoint:
    """What a client needs to reach a running emulator (the base of :class:`.IceEmulator` and
    :class:`.IceEmulatorProcess`): its address and key pair, the connections that point at it; a
    context manager around ``start``/``stop``."""

    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> Self:
        """Start serving; returns self once ready."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving."""
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
        """``http(s)://host:port``, where it serves."""
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    def connection_extras(self, region_id: str = DEFAULT_REGION, **more: Any) -> dict[str, Any]:
        """Extras of an ``alibaba_cloud_ice`` connection pointing here.

        :param region_id: the connection's ``region_id``; default ``cn-shanghai``.
        :param more: more extras (``max_attempts``, ``proxy``…), or ones to replace.
        """
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
        """An Airflow connection as JSON (for ``AIRFLOW_CONN_ICE_DEFAULT``).

        :param conn_type: the connection type; default ``alibaba_cloud_ice``.
        :param more: :meth:`connection_extras`'s parameters.
        """
        return json.dumps(
            {
                "conn_type": conn_type,
                "login": self.access_key_id,
                "password": self.access_key_secret,
                "extra": self.connection_extras(**more),
            }
        )

    def export_line(self, conn_id: str = DEFAULT_CONN_ID, **more: Any) -> str:
        """A shell line that defines ``conn_id`` through its environment variable.

        :param conn_id: the connection id; default ``ice_default``.
        :param more: :meth:`connection_extras`'s parameters.
        """
        return f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(self.connection_uri(**more))}"

    def connections_add_args(self, conn_id: str = DEFAULT_CONN_ID, **more: Any) -> list[str]:
        """``airflow connections add`` arguments (after ``airflow``) that store ``conn_id`` in the
        metastore, as the UI or a platform team would.

        :param conn_id: the connection id; default ``ice_default``.
        :param more: :meth:`connection_extras`'s parameters.
        """
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
