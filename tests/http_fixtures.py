"""A local HTTP file server for download tests, with switches for fault injection.

It serves byte strings by URL path (the query is ignored) on 127.0.0.1, answers ``Range:
bytes=N-`` requests with 206 (or 416 past the end), and can be told to

- ignore ``Range`` headers (always answer 200 with the whole file): ``ignore_range``;
- close the connection after sending N bytes of a body: ``drop_after[path] = [N, ...]``
  (one entry per coming response to that path);
- answer a fixed status for a path: ``status[path] = 500``, with extra headers
  ``headers[path] = {"Retry-After": "1"}``.

Every request is recorded (path, Range header, status, body bytes sent) before its body is
sent, so a test that has received a whole response sees its record.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Seen:
    path: str
    range: str | None
    status: int
    sent: int


@dataclass
class FileServer:
    files: dict[str, bytes] = field(default_factory=dict)
    ignore_range: bool = False
    drop_after: dict[str, list[int]] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return self.url(path)

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


def _make_handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            rng = self.headers.get("Range")
            if path in server.status:
                code = server.status[path]
                server.record(Seen(path, rng, code, 0))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                for name, value in server.headers.get(path, {}).items():
                    self.send_header(name, value)
                self.end_headers()
                return
            data = server.files.get(path)
            if data is None:
                server.record(Seen(path, rng, 404, 0))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = 0, len(data)
            code = 200
            match = _RANGE.match(rng or "")
            if match and not server.ignore_range:
                start = int(match.group(1))
                if match.group(2):
                    end = min(end, int(match.group(2)) + 1)
                if start >= len(data):
                    server.record(Seen(path, rng, 416, 0))
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                code = 206
            body = data[start:end]
            self.send_response(code)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if code == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
            self.end_headers()
            drops = server.drop_after.get(path)
            if drops:
                n = drops.pop(0)
                server.record(Seen(path, rng, code, min(n, len(body))))
                self.wfile.write(body[:n])
                self.wfile.flush()
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.close_connection = True
                return
            server.record(Seen(path, rng, code, len(body)))  # before the body: no race
            self.wfile.write(body)

        def finish(self) -> None:
            try:
                super().finish()
            except OSError:
                pass

    return Handler
