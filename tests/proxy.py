"""A forwarding HTTP proxy on 127.0.0.1 for the proxy tests: CONNECT tunnels and absolute-form requests.

It resolves only the names it is given, so a test endpoint named after one of them can be reached
through the proxy and no other way. Optional Basic credentials (407 without them). It records each
connection it forwarded as (method, "host:port") and refuses every other target with 502.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from urllib.parse import urlsplit


class ForwardingProxy:
    def __init__(self, hosts: dict[str, str], credentials: tuple[str, str] | None = None) -> None:
        self.hosts = hosts
        self.credentials = credentials
        self.forwarded: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str, int]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-proxy", daemon=True)

    @property
    def url(self) -> str:
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def tunnels_to(self, address: str) -> int:
        return sum(1 for _, target in self.forwarded if target == address)

    def __enter__(self) -> ForwardingProxy:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop)
        self._server = server.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _answer(self, writer: asyncio.StreamWriter, status: str, extra: str = "") -> None:
        writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:  # shutting down: asyncio's stream callback must not see it
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines if ":" in h)}
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
        else:  # absolute-form: "POST http://host:port/?query HTTP/1.1", forwarded as it is
            parts = urlsplit(target)
            host, port = parts.hostname or "", str(parts.port or 80)
        if self.credentials:
            token = base64.b64encode(":".join(self.credentials).encode()).decode()
            if headers.get("proxy-authorization") != f"Basic {token}":
                self.refused.append((method, f"{host}:{port}", 407))
                challenge = 'Proxy-Authenticate: Basic realm="t"\r\n'
                await self._answer(writer, "407 Proxy Authentication Required", challenge)
                return
        ip = self.hosts.get(host)
        try:
            if ip is None:
                raise OSError(f"{host} does not resolve here")
            up_reader, up_writer = await asyncio.open_connection(ip, int(port))
        except OSError:
            self.refused.append((method, f"{host}:{port}", 502))
            await self._answer(writer, "502 Bad Gateway")
            return
        self.forwarded.append((method, f"{host}:{port}"))
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(head)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
