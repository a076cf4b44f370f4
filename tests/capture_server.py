"""An HTTP server on 127.0.0.1 that records every request as it came over the wire (request line,
headers, body) and answers each ICE action with a minimal success, for the wire-parity test."""

from __future__ import annotations

import json
import socketserver
import ssl
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

#: A success for each action, shaped as ICE's API pages show it (enough for either client to parse).
ANSWERS: dict[str, dict[str, Any]] = {
    "StartAIWorkflow": {"RequestId": "r-1", "TaskId": "t-1"},
    "GetAIWorkflowTask": {"RequestId": "r-1", "WorkflowTask": {"TaskId": "t-1", "Status": "running"}},
    "StopAIWorkflowTask": {"RequestId": "r-1", "TaskId": "t-1"},
    "SubmitMediaProducingJob": {"RequestId": "r-1", "JobId": "j-1"},
    "GetMediaProducingJob": {"RequestId": "r-1", "MediaProducingJob": {"JobId": "j-1", "Status": "Processing"}},
    "SubmitMediaConvertJob": {"RequestId": "r-1", "Job": {"JobId": "j-1", "State": "Inited"}},
    "GetMediaConvertJob": {"RequestId": "r-1", "Job": {"JobId": "j-1", "State": "Running"}},
    "SubmitBatchMediaProducingJob": {"RequestId": "r-1", "JobId": "j-1"},
    "GetBatchMediaProducingJob": {"RequestId": "r-1", "EditingBatchJob": {"JobId": "j-1", "Status": "Processing"}},
    "SubmitSnapshotJob": {"RequestId": "r-1", "JobId": "j-1"},
    "GetSnapshotJob": {"RequestId": "r-1", "SnapshotJob": {"JobId": "j-1", "Status": "Init"}},
    "StartWorkflow": {"RequestId": "r-1", "TaskId": "t-1"},
    "GetWorkflowTask": {"RequestId": "r-1", "WorkflowTask": {"TaskId": "t-1", "Status": "Processing"}},
}


@dataclass(frozen=True)
class Captured:
    """One request: the request line's method and target, the headers (names lower-cased, in order),
    the body."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


class _Handler(socketserver.StreamRequestHandler):
    captured: ClassVar[list[Captured]]
    page: ClassVar[bytes | None] = None  # a fixed answer (status line, headers and body) instead

    def handle(self) -> None:
        while True:  # keep-alive: both clients may send several requests on one connection
            line = self.rfile.readline()
            if not line:
                return
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            headers = []
            while (raw := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = raw.decode("latin-1").partition(":")
                headers.append((name.strip().lower(), value.strip()))
            length = int(dict(headers).get("content-length", 0))
            body = self.rfile.read(length) if length else b""
            self.captured.append(Captured(method, target, version, tuple(headers), body))
            answer = json.dumps(ANSWERS.get(dict(headers).get("x-acs-action", ""), {})).encode()
            self.wfile.write(
                self.page
                or b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: %d\r\n\r\n%s"
                % (len(answer), answer)
            )
            self.wfile.flush()


class _TlsServer(socketserver.ThreadingTCPServer):
    context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.context is not None:  # the handshake happens in the handler's thread, on first read
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class CaptureServer:
    """``with CaptureServer() as server``: ``server.endpoint`` (host:port), ``server.captured``; over
    TLS with ``cert_file``/``key_file``; answering every request with ``page`` if given."""

    def __init__(self, cert_file: str | None = None, key_file: str | None = None, page: bytes | None = None) -> None:
        self.captured: list[Captured] = []
        handler = type("Handler", (_Handler,), {"captured": self.captured, "page": page})
        self._server = _TlsServer(("127.0.0.1", 0), handler)
        if cert_file and key_file:
            self._server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._server.context.load_cert_chain(cert_file, key_file)
        self._server.daemon_threads = True
        self.endpoint = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def take(self) -> Captured:
        """The one request captured since the last take."""
        (request,) = self.captured
        self.captured.clear()
        return request
