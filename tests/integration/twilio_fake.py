"""A fault-injecting fake of Twilio's Messages and Calls endpoints on loopback (Twilio's own
OpenAPI spec has success responses only; the contract mock checks the requests, this checks
what the daemon makes of Twilio's errors). Each `To` number may be given a scripted answer;
the messages and calls Twilio "took" can be listed and fetched, for reconciliation."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ERRORS = {  # answer -> (HTTP status, Twilio error code)
    "21610": (400, 21610),  # the recipient replied STOP at the carrier
    "21211": (400, 21211),  # not a valid phone number
    "21614": (400, 21614),  # not a mobile number
    "20429": (429, 20429),  # too many requests
    "500": (500, 20500),
}
TOOK = ("ok", "slow", "hangup")  # answers after which Twilio holds the message


class FakeTwilio:
    def __init__(self) -> None:
        self.script: dict[str, str] = {}  # To -> "ok" | an ERRORS key | "slow" | "hangup"
        self.first: dict[str, str] = {}  # To -> the answer to its first request only
        self.requests: list[dict[str, str]] = []
        self.messages: dict[str, dict[str, Any]] = {}  # SID -> what Twilio holds
        self.calls: dict[str, dict[str, Any]] = {}  # SID -> the call Twilio holds
        self.clock: Callable[[], datetime] = lambda: datetime(2026, 12, 1, 16, tzinfo=UTC)
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def create(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        """The answer to a POST (None: hang up without one)."""
        self.requests.append(form)
        to = form.get("To", "")
        answer = self.first.pop(to, None) or self.script.get(to, "ok")
        call = path.endswith("/Calls.json")
        sid = ("CA" if call else "SM") + uuid.uuid4().hex
        if answer in TOOK:
            (self.calls if call else self.messages)[sid] = {
                "sid": sid, "to": form.get("To"), "status": "queued" if call else "sent",
                "date_created": format_datetime(self.clock(), usegmt=True),
            }  # fmt: skip
        if answer == "slow":
            time.sleep(2)  # longer than the client's timeout
        if answer == "hangup":
            return None  # the request arrived, the answer never does
        if answer in ERRORS:
            status, code = ERRORS[answer]
            return status, {"code": code, "message": f"error {code}", "status": status,
                            "more_info": f"https://www.twilio.com/docs/errors/{code}"}  # fmt: skip
        return 201, {"sid": sid, "status": "queued", "to": form.get("To")}

    def read(self, path: str, query: str) -> tuple[int, dict[str, Any]]:
        """The answer to a GET: one message or call by SID, or those to a number."""
        call = "/Calls" in path
        held = self.calls if call else self.messages
        one = re.search(r"/(?:Messages|Calls)/((?:SM|CA)[0-9a-f]+)\.json$", path)
        if one:
            found = held.get(one.group(1))
            return (200, found) if found else (404, {"code": 20404, "status": 404})
        to = parse_qs(query).get("To", [""])[0]
        page = [m for m in held.values() if m["to"] == to]
        return 200, {"calls" if call else "messages": page, "next_page_uri": None, "page": 0,
                     "page_size": 50,
                     "start": 0, "end": len(page), "uri": path, "first_page_uri": path,
                     "previous_page_uri": None}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwilio

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        answer = self.fake.create(urlsplit(self.path).path, form)
        if answer is None:
            self.connection.close()
            return
        self._json(*answer)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self._json(*self.fake.read(url.path, url.query))

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting ("slow"): that is the point


@contextmanager
def running() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


if __name__ == "__main__":  # a fake in its own process (benchmarks): prints its URL, serves
    fake = FakeTwilio()
    print(fake.url, flush=True)
    fake.server.serve_forever()
