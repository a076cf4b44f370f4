"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for the ICE RPC calls only.

ICE calls are ``POST /?<signed query>`` with an empty body and a small JSON answer. A general client
(aiohttp) spends about half of a poll's CPU on machinery this needs none of (cookie jar, tracing,
redirects, multidict headers, request objects); this sends the request head in one write and
parses status line, headers and body (Content-Length, chunked, or until close) directly. Replayed
signed requests over local TLS measured about 0.12 ms of CPU each here against 0.21-0.31 ms through
aiohttp; ``benchmarks/triggerer_density.py`` measures the whole poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Mapping

#: Idle connections older than this are closed rather than reused: servers and load balancers drop
#: idle keep-alive connections after a while, and a reused dead one costs a failed attempt.
IDLE_SECONDS = 30.0

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ResponseError(ConnectionError):
    """The server's answer could not be read as HTTP/1.1."""


class KeepAlivePool:
    """Up to ``limit`` keep-alive connections to one host, shared by every request on this loop."""

    def __init__(
        self,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        *,
        connect_timeout: float,
        read_timeout: float,
        limit: int,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.closed = False
        self._idle: list[tuple[_Connection, float]] = []
        self._slots = asyncio.Semaphore(limit)

    async def post(self, target: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Send ``POST target`` with an empty body; return (status, lower-cased headers, body).

        Raises ``TimeoutError`` past the connect or read timeout and ``OSError`` (``ConnectionError``
        included) when the connection fails or the answer is not HTTP.
        """
        head = "".join(
            [f"POST {target} HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()), "content-length: 0\r\n\r\n"]
        ).encode("latin-1")
        async with self._slots:
            connection = self._take_idle() or await self._connect()
            try:
                async with asyncio.timeout(self.read_timeout):
                    status, response_headers, body, keep = await _exchange(connection, head)
            except (EOFError, ValueError) as exc:  # cut short, or not HTTP
                connection[1].close()
                raise ResponseError(f"unreadable response: {exc!r}") from None
            except BaseException:
                connection[1].close()  # state unknown: never reuse it
                raise
            if keep and not self.closed:
                self._idle.append((connection, time.monotonic()))
            else:
                connection[1].close()
            return status, response_headers, body

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection, since = self._idle.pop()
            if now - since < IDLE_SECONDS and not connection[0].at_eof():
                return connection
            connection[1].close()
        return None

    async def _connect(self) -> _Connection:
        async with asyncio.timeout(self.connect_timeout):
            return await asyncio.open_connection(
                self.host, self.port, ssl=self.tls, server_hostname=self.host if self.tls else None
            )

    async def close(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for (_, writer), _since in idle:
            writer.close()
        for (_, writer), _since in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _exchange(connection: _Connection, head: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    reader, writer = connection
    writer.write(head)
    status_line = await reader.readline()
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ResponseError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise ResponseError("connection closed inside the response headers")
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close" and parts[0] == b"HTTP/1.1"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body, keep = await reader.read(), False  # delimited by the end of the connection
    return status, headers, body, keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        line = await reader.readline()
        if not line:
            raise ResponseError("connection closed inside a chunked body")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
