"""A TLS server on 127.0.0.1 that fails at one chosen phase of every call, for the fault-phase matrix.

It speaks TLS through :class:`ssl.SSLObject` over memory buffers, so it can also write on the raw
socket what no TLS library would send: a record that fails its integrity check, a close without
close_notify, a reset. Each connection is counted, and each request read whole is recorded by its
``x-acs-action``: that count, not the client's bookkeeping, says what reached the server.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
from collections import Counter
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """Where the server breaks the call."""

    REFUSED = "refused"  # nothing listens: the connection is refused
    HANDSHAKE = "handshake"  # a fatal TLS alert in answer to the ClientHello
    HANDSHAKE_STALL = "handshake_stall"  # no answer to the ClientHello, past the client's connect timeout
    BAD_RECORD = "bad_record"  # after the request: a TLS record that fails its integrity check
    RST = "rst"  # after the request: a TCP reset
    EOF = "eof"  # after the request: the socket closed with no close_notify
    HALF_HEAD = "half_head"  # after the request: half a status line and headers, then close
    SHORT_BODY = "short_body"  # after the request: a body shorter than its Content-Length, then close
    STALL = "stall"  # after the request: nothing, past the client's read timeout


#: The phases after which the request was read whole: ICE may have run it.
AFTER_REQUEST = frozenset(Phase) - {Phase.REFUSED, Phase.HANDSHAKE, Phase.HANDSHAKE_STALL}

# A fatal alert (level 2) handshake_failure (40), in a TLS 1.2-framed record.
_HANDSHAKE_FAILURE = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])


class FaultServer:
    """``with FaultServer(phase, cert_file, key_file) as server``: ``server.address`` to connect to,
    ``server.requests`` (action → requests read whole), ``server.connections`` (accepted)."""

    def __init__(self, phase: Phase, cert_file: str, key_file: str) -> None:
        self.phase = phase
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert_file, key_file)
        self.requests: Counter[str] = Counter()
        self.connections = 0
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> FaultServer:
        if self.phase is not Phase.REFUSED:  # bound but not listening: Linux refuses connections
            self._listener.listen(16)
            self._listener.settimeout(0.05)
            self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._listener.close()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"fault-{self.phase}")
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            self._spawn(self._serve, raw)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            if self.phase is Phase.HANDSHAKE:
                raw.recv(65536)  # the ClientHello
                raw.sendall(_HANDSHAKE_FAILURE)
                return
            if self.phase is Phase.HANDSHAKE_STALL:
                raw.recv(65536)
                raw.recv(1)  # until the client gives up (or the 10-s socket timeout)
                return
            tls = _Tls(raw, self.context)
            action = tls.read_request()
            with self._lock:
                self.requests[action] += 1
            self._break(raw, tls)
        except (OSError, ssl.SSLError) as exc:  # the client gave up first: nothing to break
            self.errors.append(exc)
        finally:
            raw.close()

    def _break(self, raw: socket.socket, tls: _Tls) -> None:
        if self.phase is Phase.BAD_RECORD:  # application data whose MAC cannot verify
            raw.sendall(bytes([0x17, 0x03, 0x03, 0x00, 0x40]) + os.urandom(0x40))
            raw.recv(1)  # until the client gives up
        elif self.phase is Phase.RST:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif self.phase is Phase.HALF_HEAD:
            tls.write(b"HTTP/1.1 200 OK\r\nContent-Type: applica")
        elif self.phase is Phase.SHORT_BODY:
            tls.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Req')
        elif self.phase is Phase.STALL:
            self._stop.wait(10)
        # EOF and the rest: the socket closes with no close_notify


class _Tls:
    """The server side of one TLS connection, driven by hand over memory buffers."""

    def __init__(self, raw: socket.socket, context: ssl.SSLContext) -> None:
        self.raw = raw
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self._drive(self.obj.do_handshake)

    def _drive(self, step: Any) -> Any:
        while True:
            try:
                result = step()
            except ssl.SSLWantReadError:
                self._flush()
                data = self.raw.recv(65536)
                if not data:
                    raise ConnectionError("the client closed the connection") from None
                self.incoming.write(data)
                continue
            self._flush()
            return result

    def _flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.raw.sendall(pending)

    def read_request(self) -> str:
        """The whole request (head and Content-Length body); returns its ``x-acs-action``."""
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._drive(lambda: self.obj.read(65536))
        head, _, body = data.partition(b"\r\n\r\n")
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.decode("latin-1").partition(":") for line in head.split(b"\r\n")[1:])
        )
        while len(body) < int(headers.get("content-length", 0)):
            body += self._drive(lambda: self.obj.read(65536))
        return headers.get("x-acs-action", "?")

    def write(self, data: bytes) -> None:
        self.obj.write(data)
        self._flush()
