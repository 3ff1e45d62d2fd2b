"""A local Slack Web API: the methods qabot calls, answered and refused the way real Slack does.

Every request is recorded, rejected ones too, so a test can assert on what the bot said and notice a call
nobody modelled (`standin_not_implemented`). Faults can be injected to exercise the outbox's retries.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from bot.sandbox import spec
from messages.validate import BlockKitError, check_blocks, check_view

TEAM_ID = "T0STANDIN"
BOT_USER_ID = "U0QABOT"
BOT_ID = "B0QABOT"
APP_ID = "A0QABOT"
TRIGGER_TTL = 3.0  # seconds a trigger_id can be exchanged for a view, per Slack's docs
_JSON_ARGS = ("blocks", "view", "attachments")  # sent form-encoded as JSON strings, or as JSON values

Answer = tuple[int, dict[str, str], bytes, float]  # HTTP status, headers, body, seconds to wait first


def dm_channel(user_id: str) -> str:
    """The bot's DM with a user: derived from the user id, so it is stable and tests can name it."""
    return "D" + user_id


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


@dataclass
class _Fault:
    method: str | None
    status: int
    retry_after: int | None
    delay: float
    times: int


class _Refused(Exception):
    """Ends a method with Slack's error code and, like Slack, optional response_metadata messages."""

    def __init__(self, error: str, *messages: str):
        super().__init__(error)
        self.error = error
        self.messages = messages


class SlackStandIn:
    """Slack's Web API on 127.0.0.1, for the test-suite and `qabot demo`."""

    def __init__(self, *, bot_token: str = "xoxb-standin-token", clock: Callable[[], float] = time.monotonic):
        # `clock` times trigger_id expiry only. The default is bound when this module is imported, before
        # any test freezes time: freezegun patches time.monotonic and rebinds module-level aliases of it, so
        # a frozen (or jumped) test clock would otherwise expire triggers, or never expire them.
        self.bot_token = bot_token
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._responses: list[Responded] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, str] = {}  # C… id -> name
        self._dms: dict[str, str] = {}  # D… id -> user id
        self._messages: dict[str, tuple[str, dict[str, Any]]] = {}  # ts (unique here) -> (channel, message)
        self._triggers: dict[str, float] = {}  # trigger_id -> clock() when issued
        self._exchanged: set[str] = set()
        self._views: dict[str, dict[str, Any]] = {}
        self._homes: dict[str, str] = {}  # user id -> view id of their App Home
        self._response_urls: set[str] = set()
        self._faults: list[_Fault] = []
        self._random: tuple[float, random.Random, list[_Fault]] | None = None
        self._last_ts = 0
        self._ids = itertools.count(1)
        self._server: _Server | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self._server = _Server(self)
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
        with self._lock:
            self._channels[channel_id] = name

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
            self._faults.append(_Fault(method, status, retry_after, delay, times))

    def fail_randomly(
        self, rate: float, seed: int, statuses: Iterable[int] = (429, 500), delay: float | None = None
    ) -> None:
        """Fault a seeded share of all later calls, each with one of `statuses` (or the `delay`).
        The same seed over the same sequence of calls gives the same faults; rate 0 stops it."""
        kinds = [_Fault(None, status, None, 0, 1) for status in statuses]
        if delay:
            kinds.append(_Fault(None, 200, None, delay, 1))
        with self._lock:
            self._random = (rate, random.Random(seed), kinds)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (None, method):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            if self._random is not None:
                rate, rng, kinds = self._random
                if rng.random() < rate:
                    return rng.choice(kinds)
        return None

    # -- answering -------------------------------------------------------------------------------------

    def _api(self, method: str, args: dict[str, Any] | None, token: str | None) -> Answer:
        fault = self._take_fault(method) if method in spec.methods() else None
        if fault is not None and not fault.delay:
            self._record(Call(method, args or {}, False, f"injected_{fault.status}", time.time()))
            return _http_fault(fault)
        body = json.dumps(self._answer(method, args, token)).encode()
        answer = json.loads(body)  # a copy: later chat.update calls must not rewrite what was answered
        error = "injected_delay" if fault is not None else answer.get("error")
        self._record(Call(method, args or {}, answer["ok"], error, time.time(), answer))
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
        except _Refused as refused:
            return _error(refused.error, *refused.messages)

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

    # -- methods (called with the lock held; they return the answer without "ok") -----------------------

    def _web_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://standin.slack.com/",
            "team": "Stand-in",
            "user": "qabot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _web_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._conversation(args["channel"])
        text, blocks = _content(args)
        ts = self._new_ts()
        message = {
            "type": "message",
            "text": text,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        if blocks:
            message["blocks"] = blocks
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self._messages[ts] = (channel, message)
        return {"channel": channel, "ts": ts, "message": message}

    def _web_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._conversation(args["channel"], users=False)  # real Slack wants the D… id here
        stored = self._messages.get(args["ts"])
        if stored is None or stored[0] != channel:
            raise _Refused("message_not_found")
        text, blocks = _content(args)
        message = stored[1]
        if "text" in args:
            message["text"] = text
        if blocks:
            message["blocks"] = blocks
        elif "blocks" in args:  # an empty list removes the blocks, as documented for chat.update
            message.pop("blocks", None)
        return {"channel": channel, "ts": args["ts"], "text": message["text"], "message": message}

    def _web_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._conversation(args["channel"])
        if self._dms.get(channel, args["user"]) != args["user"]:
            raise _Refused("user_not_in_channel")  # a DM holds only the bot and its one user
        _content(args)
        return {"message_ts": self._new_ts()}

    def _web_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [user for user in str(args.get("users", "")).split(",") if user]
        if not users:
            raise _Refused("users_list_not_supplied")
        if len(users) > 1:
            raise _Refused("standin_not_implemented")  # group DMs: qabot does not open them
        return {"channel": {"id": self._conversation(users[0])}}

    def _web_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args["email"]).lower()
        for user in self._users.values():
            if user["profile"]["email"].lower() == email:
                return {"user": user}
        raise _Refused("users_not_found")

    def _web_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(args.get("user", ""))
        if user is None:
            raise _Refused("user_not_found")
        return {"user": user}

    def _web_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args)

    def _web_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args)

    def _web_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        current = self._views.get(args.get("view_id", ""))
        if current is None:
            raise _Refused("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _Refused("hash_conflict")
        return {"view": self._store_view(_checked_view(args), current["id"])}

    def _web_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _checked_view(args)
        if view["type"] != "home":
            raise _Refused("invalid_arguments", "[ERROR] views.publish takes a view of type home")
        current = self._views.get(self._homes.get(args["user_id"], ""))
        if current and args.get("hash") and args["hash"] != current["hash"]:
            raise _Refused("hash_conflict")
        stored = self._store_view(view, current["id"] if current else None)
        self._homes[args["user_id"]] = stored["id"]
        return {"view": stored}

    # -- helpers (lock held) ---------------------------------------------------------------------------

    def _conversation(self, channel: str, *, users: bool = True) -> str:
        """Where a message goes: a user id means the DM with that user (chat.postMessage allows it);
        anything else must be a channel or DM the stand-in knows."""
        if users and channel[:1] in ("U", "W"):
            self._dms[dm_channel(channel)] = channel
            return dm_channel(channel)
        if channel in self._channels or channel in self._dms:
            return channel
        raise _Refused("channel_not_found")

    def _new_ts(self) -> str:
        # Wall-clock based like Slack's, yet unique and increasing even while a test freezes the clock.
        self._last_ts = max(int(time.time() * 1_000_000), self._last_ts + 100)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = args["trigger_id"]
        issued = self._triggers.get(trigger)
        if issued is None:
            raise _Refused("invalid_trigger_id")
        if trigger in self._exchanged:
            raise _Refused("exchanged_trigger_id")
        if self._clock() - issued > TRIGGER_TTL:
            raise _Refused("expired_trigger_id")
        view = _checked_view(args)
        self._exchanged.add(trigger)
        return {"view": self._store_view(view)}

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._ids):010d}"
        self._views[view_id] = {
            "team_id": TEAM_ID,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            **view,
            "id": view_id,
            "root_view_id": view_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        return self._views[view_id]


def _error(error: str, *messages: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"ok": False, "error": error}
    if messages:
        answer["response_metadata"] = {"messages": list(messages)}
    return answer


def _content(args: dict[str, Any]) -> tuple[str, list[Any] | None]:
    """A message's text and blocks, refused as real Slack refuses them."""
    text = args.get("text") or ""
    blocks = args.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        raise _Refused("invalid_blocks_format")
    if blocks:
        try:
            check_blocks(blocks, "message")
        except BlockKitError as e:
            raise _Refused("invalid_blocks", f"[ERROR] {e}") from e
    if not text and not blocks:
        raise _Refused("no_text")
    return text, blocks


def _checked_view(args: dict[str, Any]) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        raise _Refused("invalid_arguments", "[ERROR] view must be a JSON object")
    try:
        check_view(view)
    except BlockKitError as e:
        raise _Refused("invalid_arguments", f"[ERROR] {e}") from e
    return view


def _http_fault(fault: _Fault) -> Answer:
    headers = {}
    if fault.status == 429 or fault.retry_after is not None:
        headers["Retry-After"] = str(1 if fault.retry_after is None else fault.retry_after)
    if fault.status == 429:
        return 429, {**headers, "Content-Type": "application/json"}, b'{"ok":false,"error":"ratelimited"}', 0
    # Errors from the gateways in front of Slack come as HTML pages, not as the API's JSON.
    page = f"<html><body><h1>{fault.status} {HTTPStatus(fault.status).phrase}</h1></body></html>"
    return fault.status, {**headers, "Content-Type": "text/html"}, page.encode(), 0


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
