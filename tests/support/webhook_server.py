"""A local HTTP server in a thread that receives webhook batches and fails on purpose.

``WebhookServer(script=[503, 429, 200])`` answers the requests in turn with those statuses (the last one
repeats); a 429 or 503 carries ``Retry-After: <retry_after>`` when one is given. Every request is kept
(``requests``: path, headers, parsed JSON body, the status answered), so tests can assert what arrived.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class WebhookServer:
    script: list[int] = field(default_factory=lambda: [200])
    retry_after: str | None = None
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    index = len(owner.requests)
                    status = owner.script[min(index, len(owner.script) - 1)]
                    owner.requests.append(Received(dict(self.headers), body, status))
                self.send_response(status)
                if status in (429, 503) and owner.retry_after is not None:
                    self.send_header("Retry-After", owner.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/audiences"

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
