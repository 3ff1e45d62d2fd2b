"""A local Slack Web API: the methods qabot calls, answered and refused the way real Slack does.

Every request is recorded, rejected ones too, so a test can assert on what the bot said and notice a call
nobody modelled (`standin_not_implemented`). Faults can be injected to exercise the outbox's retries.
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from bot.sandbox import spec
from bot.sandbox.faults import Fault, Faults, http_fault
from bot.sandbox.workspace import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, TRIGGER_TTL, Refused, Workspace, dm_channel

# The workspace's ids and dm_channel are re-exported, so callers take the stand-in's whole API from here.
__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "TRIGGER_TTL",
    "Answer",
    "Call",
    "Responded",
    "SlackStandIn",
    "dm_channel",
]

# Sent form-encoded as JSON strings, or as JSON values.
_JSON_ARGS = ("blocks", "view", "attachments", "files", "metadata")

Answer = tuple[int, dict[str, str], bytes, float]  # HTTP status, headers, body, seconds to wait first


@dataclass(frozen=True)
class Call:
    """One request to /api/<method>, as the stand-in saw and answered it."""

    method: str
    args: dict[str, Any]  # query and body merged, JSON strings (blocks, view) decoded, token removed
    ok: bool
    error: str | None  # Slack's error code, or injected_<status> / injected_delay for a fault
    at: float  # time.time(): under freezegun this is the test's frozen clock, the same one the bot reads
    response: dict[str, Any] | None = None  # the JSON answered; None when a fault answered instead


@dataclass(frozen=True)
class Responded:
    """One JSON body posted to a response_url (Bolt's `respond()`)."""

    url_id: str
    body: dict[str, Any]
    at: float


class SlackStandIn(Workspace):
    """Slack's Web API on 127.0.0.1, for the test-suite and `qabot demo`."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-standin-token",
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] | None = None,
    ):
        # `clock` times trigger_id expiry only. The default is bound when this module is imported, before
        # any test freezes time: freezegun patches time.monotonic and rebinds module-level aliases of it, so
        # a frozen (or jumped) test clock would otherwise expire triggers, or never expire them.
        # `wall` is the time message ts and files carry (default time.time(), frozen with the test): a test whose
        # qabot runs in another process gives the simulated time that process is at.
        super().__init__(clock, wall)
        # Called with each call carried out, before it is answered: a test can act at that very moment.
        self.carried_out: Callable[[Call], None] | None = None
        self.bot_token = bot_token
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._responses: list[Responded] = []
        self._response_urls: set[str] = set()
        self._faults = Faults()
        self._server: _Server | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self._server = _Server(self)
        self._upload_base = self._base_url + "/upload/"
        # A short poll interval: stop() waits up to one interval, once per test.
        serve = self._server.serve_forever
        threading.Thread(target=serve, args=(0.05,), name="slack-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL points at (slack_sdk wants the trailing slash)."""
        return self._base_url + "/api/"

    @property
    def _base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Slack stand-in is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- the workspace ---------------------------------------------------------------------------------

    def add_user(self, user_id: str, email: str, name: str, tz: str = "Europe/London") -> None:
        offset = datetime.now(ZoneInfo(tz)).utcoffset() or timedelta()
        profile = {"email": email, "real_name": name, "display_name": name}
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": name,
                "deleted": False,
                "is_bot": False,
                "tz": tz,
                "tz_offset": int(offset.total_seconds()),
                "profile": profile,
            }

    def add_channel(self, channel_id: str, name: str) -> None:
        """A channel the bot is not in yet (see invite_bot)."""
        with self._lock:
            self._channels[channel_id] = name

    def invite_bot(self, channel_id: str) -> None:
        """`/invite @qabot` in the channel: from now on the bot may post there."""
        with self._lock:
            if channel_id not in self._channels:
                raise KeyError(f"no channel {channel_id} in the stand-in")
            self._joined.add(channel_id)

    def new_trigger_id(self) -> str:
        """A trigger_id as an interaction would carry it: good for one views.open/push within 3 s."""
        with self._lock:
            trigger = f"{next(self._ids)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
            self._triggers[trigger] = self._clock()
        return trigger

    def response_url(self) -> str:
        """A fresh response_url on the stand-in; what is posted to it lands in `responses`."""
        url_id = secrets.token_hex(8)
        with self._lock:
            self._response_urls.add(url_id)
        return f"{self._base_url}/respond/{url_id}"

    # -- what happened ---------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def responses(self) -> list[Responded]:
        with self._lock:
            return list(self._responses)

    def posted(self, channel: str | None = None) -> list[Call]:
        """Successful chat.postMessage calls, to `channel` as the bot named it (U…) or as Slack did (D…)."""
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage"
            and c.ok
            and (channel is None or channel in (c.args["channel"], (c.response or {}).get("channel")))
        ]

    def last(self, method: str) -> Call | None:
        return next((c for c in reversed(self.calls) if c.method == method), None)

    def message(self, ts: str) -> dict[str, Any] | None:
        """A posted message as it stands now (after any chat.update), shaped as Slack stores it."""
        with self._lock:
            stored = self._messages.get(ts)
            return copy.deepcopy(stored[1]) if stored else None

    def channel_of(self, ts: str) -> str | None:
        with self._lock:
            stored = self._messages.get(ts)
            return stored[0] if stored else None

    def files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files completed with files.completeUploadExternal (to `channel`, if given): id, name, title, channel
        and the bytes uploaded, in the order they were completed."""
        with self._lock:
            done = [copy.deepcopy(f) for f in self._files.values() if f["channel"] is not None]
        return [f for f in done if channel is None or f["channel"] == channel]

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    def home(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._views.get(self._homes.get(user_id, "")))

    # -- faults ----------------------------------------------------------------------------------------

    def inject(
        self,
        method: str | None = None,
        *,
        status: int = 500,
        retry_after: int | None = None,
        delay: float = 0,
        times: int = 1,
    ) -> None:
        """The next `times` calls (of `method`, or of any method) answer HTTP `status` instead; with a
        `delay`, they are carried out but answered only after `delay` seconds (a client timeout)."""
        with self._lock:
            self._faults.queue(Fault(method, status, retry_after, delay, times))

    def fail_randomly(
        self, rate: float, seed: int, statuses: Iterable[int] = (429, 500), delay: float | None = None
    ) -> None:
        """Fault a seeded share of all later calls, each with one of `statuses` (or the `delay`).
        The same seed over the same sequence of calls gives the same faults; rate 0 stops it."""
        with self._lock:
            self._faults.randomly(rate, seed, statuses, delay)

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            return self._faults.take(method)

    # -- answering -------------------------------------------------------------------------------------

    def _api(self, method: str, args: dict[str, Any] | None, token: str | None) -> Answer:
        fault = self._take_fault(method) if method in spec.methods() else None
        if fault is not None and not fault.delay:
            self._record(Call(method, args or {}, False, f"injected_{fault.status}", time.time()))
            return http_fault(fault)
        body = json.dumps(self._answer(method, args, token)).encode()
        answer = json.loads(body)  # a copy: later chat.update calls must not rewrite what was answered
        error = "injected_delay" if fault is not None else answer.get("error")
        call = Call(method, args or {}, answer["ok"], error, time.time(), answer)
        self._record(call)
        if self.carried_out is not None and call.ok:
            self.carried_out(call)
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body, fault.delay if fault else 0

    def _answer(self, method: str, args: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
        if method not in spec.methods():
            return _error("unknown_method")
        if args is None:
            return _error("invalid_json")
        if not token:
            return _error("not_authed")
        if token != self.bot_token:
            return _error("invalid_auth")
        missing = [name for name in spec.methods()[method] if args.get(name) in (None, "")]
        if missing:
            return _error("invalid_arguments", *(f"[ERROR] missing required field: {arg}" for arg in missing))
        behaviour: Callable[[dict[str, Any]], dict[str, Any]] | None
        behaviour = getattr(self, "_web_" + method.replace(".", "_"), None)
        if behaviour is None:
            return _error("standin_not_implemented")
        try:
            with self._lock:
                return {"ok": True, **behaviour(args)}
        except Refused as refused:
            return _error(refused.error, *refused.messages)

    def _receive_upload(self, file_id: str, raw: bytes) -> Answer:
        with self._lock:
            taken = self._upload(file_id, raw)
        if not taken:
            return 404, {"Content-Type": "text/plain"}, b"not found", 0
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, f"OK - {len(raw)}".encode(), 0

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _respond(self, url_id: str, raw: bytes) -> Answer:
        with self._lock:
            known = url_id in self._response_urls
        if not known:
            return 404, {"Content-Type": "text/plain"}, b"no_service", 0
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return 400, {"Content-Type": "text/plain"}, b"invalid_payload", 0
        with self._lock:
            self._responses.append(Responded(url_id, body, time.time()))
        return 200, {"Content-Type": "application/json; charset=utf-8"}, b'{"ok": true}', 0


def _error(error: str, *messages: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"ok": False, "error": error}
    if messages:
        answer["response_metadata"] = {"messages": list(messages)}
    return answer


class _Server(ThreadingHTTPServer):
    def __init__(self, standin: SlackStandIn):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer: Answer = (404, {"Content-Type": "text/plain"}, b"not found", 0)
        if url.path.startswith("/api/"):
            args = _args(url.query, raw, self.headers.get_content_type())
            # A credential, not an argument: taken out so recorded calls do not carry it.
            argument = args.pop("token", None) if args is not None else None
            token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip() or argument
            answer = self.server.standin._api(url.path.removeprefix("/api/"), args, token)
        elif url.path.startswith("/upload/") and self.command == "POST":
            answer = self.server.standin._receive_upload(url.path.removeprefix("/upload/"), raw)
        elif url.path.startswith("/respond/"):
            answer = self.server.standin._respond(url.path.removeprefix("/respond/"), raw)
        status, headers, body, delay = answer
        time.sleep(delay)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped waiting
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    do_POST = do_GET  # Slack takes every method by GET or POST, whatever verb the spec declares

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; the calls are recorded instead


def _args(query: str, raw: bytes, content_type: str) -> dict[str, Any] | None:
    """Query string and body merged: form-encoded or JSON (None if the JSON is not an object)."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if content_type == "application/json":
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        args.update(body)
    else:
        args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for name in _JSON_ARGS:
        if isinstance(args.get(name), str):
            with contextlib.suppress(ValueError):  # left a string: the method then refuses its format
                args[name] = json.loads(args[name])
    return args
