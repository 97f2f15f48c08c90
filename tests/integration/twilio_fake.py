"""A fault-injecting fake of Twilio's Messages endpoint on loopback (Twilio's own OpenAPI
spec has success responses only; the contract mock checks the requests, this checks what
the daemon makes of Twilio's errors). Each `To` number may be given a scripted answer."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ERRORS = {  # answer -> (HTTP status, Twilio error code)
    "21610": (400, 21610),  # the recipient replied STOP at the carrier
    "21211": (400, 21211),  # not a valid phone number
    "21614": (400, 21614),  # not a mobile number
    "20429": (429, 20429),  # too many requests
    "500": (500, 20500),
}


class FakeTwilio:
    def __init__(self) -> None:
        self.script: dict[str, str] = {}  # To -> "ok" | an ERRORS key | "slow" | "hangup"
        self.requests: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.requests.append(form)
                answer = fake.script.get(form.get("To", ""), "ok")
                if answer == "slow":
                    time.sleep(2)  # longer than the client's timeout
                if answer == "hangup":
                    self.connection.close()  # the request arrived, the answer never does
                    return
                if answer in ERRORS:
                    status, code = ERRORS[answer]
                    body = {"code": code, "message": f"error {code}", "status": status,
                            "more_info": f"https://www.twilio.com/docs/errors/{code}"}  # fmt: skip
                else:
                    status = 201
                    body = {"sid": "SM" + uuid.uuid4().hex, "status": "queued",
                            "to": form.get("To"), "body": form.get("Body")}  # fmt: skip
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting ("slow"): that is the point

        return Handler


@contextmanager
def running() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
