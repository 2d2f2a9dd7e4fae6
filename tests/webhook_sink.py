"""A loopback Slack-style webhook receiver for the notification tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hook:
    """Records each POSTed JSON body; ``fail_next`` answers 500 that many times first."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.fail_next = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.fail_next > 0:
                    hook.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
