"""The stand-in's Slack workspace and the Web API methods that read and change it.

Kept apart from the serving, recording and fault injection in `server`, so each method's behaviour reads
next to the Slack rules it copies.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any

from messages.validate import BlockKitError, check_blocks, check_view

TEAM_ID = "T0STANDIN"
BOT_USER_ID = "U0QABOT"
BOT_ID = "B0QABOT"
APP_ID = "A0QABOT"
TRIGGER_TTL = 3.0  # seconds a trigger_id can be exchanged for a view, per Slack's docs


def dm_channel(user_id: str) -> str:
    """The bot's DM with a user: derived from the user id, so it is stable and tests can name it."""
    return "D" + user_id


class Refused(Exception):
    """Ends a method with Slack's error code and, like Slack, optional response_metadata messages."""

    def __init__(self, error: str, *messages: str):
        super().__init__(error)
        self.error = error
        self.messages = messages


class Workspace:
    """Users, conversations, messages and views, and a `_web_<method>` for each Web API method modelled.
    Not locked itself: SlackStandIn holds its lock around every use."""

    def __init__(self, clock: Callable[[], float], wall: Callable[[], float] | None = None):
        self._clock = clock
        self._wall = wall  # Slack's clock for ts and file times: time.time() unless a test gives its own
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, str] = {}  # C… id -> name
        self._joined: set[str] = set()  # channels the bot has been invited to
        self._dms: dict[str, str] = {}  # D… id -> user id
        self._messages: dict[str, tuple[str, dict[str, Any]]] = {}  # ts (unique here) -> (channel, message)
        self._triggers: dict[str, float] = {}  # trigger_id -> clock() when issued
        self._exchanged: set[str] = set()
        self._views: dict[str, dict[str, Any]] = {}
        self._homes: dict[str, str] = {}  # user id -> view id of their App Home
        self._files: dict[str, dict[str, Any]] = {}  # F… id -> the upload: name, length, bytes, where shared
        self._upload_base = ""  # where upload URLs point: set by the server that serves them
        self._last_ts = 0
        self._ids = itertools.count(1)

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
        if channel in self._channels and channel not in self._joined:
            # qabot's manifest has chat:write, not chat:write.public: it posts only where it was invited.
            raise Refused("not_in_channel")
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
        if args.get("metadata") is not None:
            message["metadata"] = _metadata(args["metadata"])
        self._messages[ts] = (channel, message)
        return {"channel": channel, "ts": ts, "message": message}

    def _web_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A conversation's messages, newest first, between `oldest` and `latest` (exclusive unless `inclusive`),
        `limit` a page (default 100, at most 999) continued by `cursor`; thread replies are left out, and message
        metadata is returned only with `include_all_metadata`."""
        channel = self._conversation(str(args.get("channel") or ""), users=False)
        if channel in self._channels and channel not in self._joined:
            raise Refused("not_in_channel")
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
            limit = min(max(int(args.get("limit") or 100), 1), 999)
        except ValueError:
            raise Refused("invalid_arguments", "[ERROR] oldest, latest and limit must be numbers") from None
        inclusive = _flag(args.get("inclusive"))
        found = sorted(
            (
                message
                for where, message in self._messages.values()
                if where == channel
                and message.get("thread_ts") in (None, message["ts"])
                and (oldest <= float(message["ts"]) <= latest if inclusive else oldest < float(message["ts"]) < latest)
            ),
            key=lambda message: float(message["ts"]),
            reverse=True,
        )
        start = 0
        if args.get("cursor"):
            after = str(args["cursor"]).removeprefix("ts_")
            start = next((n for n, m in enumerate(found) if m["ts"] == after), -1)
            if start < 0:
                raise Refused("invalid_cursor")
        page = [copy.deepcopy(m) for m in found[start : start + limit]]
        if not _flag(args.get("include_all_metadata")):
            for message in page:
                message.pop("metadata", None)
        more = start + limit < len(found)
        return {
            "messages": page,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": f"ts_{found[start + limit]['ts']}" if more else ""},
        }

    def _web_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._conversation(args["channel"], users=False)  # real Slack wants the D… id here
        stored = self._messages.get(args["ts"])
        if stored is None or stored[0] != channel:
            raise Refused("message_not_found")
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
            raise Refused("user_not_in_channel")  # a DM holds only the bot and its one user
        _content(args)
        return {"message_ts": self._new_ts()}

    def _web_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [user for user in str(args.get("users", "")).split(",") if user]
        if not users:
            raise Refused("users_list_not_supplied")
        if len(users) > 1:
            raise Refused("standin_not_implemented")  # group DMs: qabot does not open them
        return {"channel": {"id": self._conversation(users[0])}}

    def _web_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args["email"]).lower()
        for user in self._users.values():
            if user["profile"]["email"].lower() == email:
                return {"user": user}
        raise Refused("users_not_found")

    def _web_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(args.get("user", ""))
        if user is None:
            raise Refused("user_not_found")
        return {"user": user}

    def _web_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args)

    def _web_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args)

    def _web_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        current = self._views.get(args.get("view_id", ""))
        if current is None:
            raise Refused("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise Refused("hash_conflict")
        return {"view": self._store_view(_checked_view(args), current["id"])}

    def _web_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _checked_view(args)
        if view["type"] != "home":
            raise Refused("invalid_arguments", "[ERROR] views.publish takes a view of type home")
        current = self._views.get(self._homes.get(args["user_id"], ""))
        if current and args.get("hash") and args["hash"] != current["hash"]:
            raise Refused("hash_conflict")
        stored = self._store_view(view, current["id"] if current else None)
        self._homes[args["user_id"]] = stored["id"]
        return {"view": stored}

    def _web_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            raise Refused("invalid_arguments", "[ERROR] length must be an integer") from None
        if length <= 0:
            raise Refused("invalid_arguments", "[ERROR] length must be positive")
        file_id = f"F{next(self._ids):010d}"
        self._files[file_id] = {
            "id": file_id,
            "name": str(args["filename"]),
            "length": length,
            "alt_txt": args.get("alt_txt"),
            "data": None,
            "title": None,
            "channel": None,
        }
        return {"upload_url": self._upload_base + file_id, "file_id": file_id}

    def _upload(self, file_id: str, data: bytes) -> bool:
        """The bytes POSTed to an upload URL: taken once, for a file not yet completed."""
        upload = self._files.get(file_id)
        if upload is None or upload["channel"] is not None:
            return False
        upload["data"] = data
        return True

    def _web_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args["files"]
        if not isinstance(files, list) or not all(isinstance(f, dict) and f.get("id") for f in files):
            raise Refused("invalid_arguments", "[ERROR] files must be a JSON array of objects with an id")
        channels = [c for c in str(args.get("channels") or args.get("channel_id") or "").split(",") if c]
        if len(channels) > 1:
            raise Refused("standin_not_implemented")  # qabot shares each file in one channel
        channel = self._conversation(channels[0]) if channels else None
        if channel in self._channels and channel not in self._joined:
            raise Refused("not_in_channel")
        uploads = [self._files.get(f["id"]) for f in files]
        if any(u is None or u["data"] is None or u["channel"] is not None for u in uploads):
            raise Refused("file_not_found")  # never issued, never uploaded to, or completed already
        if any(len(u["data"]) != u["length"] for u in uploads):
            raise Refused("file_size_mismatch")  # fewer or more bytes than getUploadURLExternal was told
        shared = []
        for upload, given in zip(uploads, files, strict=True):
            upload["title"] = given.get("title") or upload["name"]
            upload["channel"] = channel or ""  # "" private: completed but shared nowhere
            upload["created"] = int(self._time())
            shared.append(
                {
                    "id": upload["id"],
                    "name": upload["name"],
                    "title": upload["title"],
                    "size": upload["length"],
                    "user": BOT_USER_ID,
                    "channels": [channel] if channel else [],
                }
            )
        return {"files": shared}

    def _web_files_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Completed files, newest first, filtered by `channel`, `user` and `ts_from`/`ts_to` (inclusive), a page of
        `count` (default 100) at `page` (from 1)."""
        try:
            ts_from = float(args.get("ts_from") or 0)
            ts_to = float(args.get("ts_to") or "inf")
            count = max(int(args.get("count") or 100), 1)
            page = max(int(args.get("page") or 1), 1)
        except ValueError:
            raise Refused("invalid_arguments", "[ERROR] ts_from, ts_to, count and page must be numbers") from None
        channel = args.get("channel")
        found = [
            {k: v for k, v in f.items() if k not in ("data", "channel", "length")}
            | {"size": f["length"], "user": BOT_USER_ID, "channels": [f["channel"]] if f["channel"] else []}
            for f in sorted(self._files.values(), key=lambda f: f.get("created", 0), reverse=True)
            if f["channel"] is not None
            and (not channel or f["channel"] == channel)
            and args.get("user") in (None, "", BOT_USER_ID)
            and ts_from <= f["created"] <= ts_to
        ]
        pages = max((len(found) + count - 1) // count, 1)
        paging = {"count": count, "total": len(found), "page": page, "pages": pages}
        return {"files": found[(page - 1) * count : page * count], "paging": paging}

    # -- helpers (lock held) ---------------------------------------------------------------------------

    def _conversation(self, channel: str, *, users: bool = True) -> str:
        """Where a message goes: a user id means the DM with that user (chat.postMessage allows it);
        anything else must be a channel or DM the stand-in knows."""
        if users and channel[:1] in ("U", "W"):
            self._dms[dm_channel(channel)] = channel
            return dm_channel(channel)
        if channel in self._channels or channel in self._dms:
            return channel
        raise Refused("channel_not_found")

    def _new_ts(self) -> str:
        # Wall-clock based like Slack's, yet unique and increasing even while a test freezes the clock.
        self._last_ts = max(int(self._time() * 1_000_000), self._last_ts + 100)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _time(self) -> float:
        return self._wall() if self._wall is not None else time.time()

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = args["trigger_id"]
        issued = self._triggers.get(trigger)
        if issued is None:
            raise Refused("invalid_trigger_id")
        if trigger in self._exchanged:
            raise Refused("exchanged_trigger_id")
        if self._clock() - issued > TRIGGER_TTL:
            raise Refused("expired_trigger_id")
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


def _flag(value: Any) -> bool:
    """A boolean argument, as the SDKs send it: true, "true" or "1"."""
    return value is True or str(value).lower() in ("true", "1")


def _metadata(metadata: Any) -> dict[str, Any]:
    """Message metadata (docs.slack.dev, "Using message metadata"): an event_type and an event_payload object."""
    if not isinstance(metadata, dict):
        raise Refused("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(metadata.get("event_payload"), dict):
        raise Refused("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def _content(args: dict[str, Any]) -> tuple[str, list[Any] | None]:
    """A message's text and blocks, refused as real Slack refuses them."""
    text = args.get("text") or ""
    blocks = args.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        raise Refused("invalid_blocks_format")
    if blocks:
        try:
            check_blocks(blocks, "message")
        except BlockKitError as e:
            raise Refused("invalid_blocks", f"[ERROR] {e}") from e
    if not text and not blocks:
        raise Refused("no_text")
    return text, blocks


def _checked_view(args: dict[str, Any]) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        raise Refused("invalid_arguments", "[ERROR] view must be a JSON object")
    try:
        check_view(view)
    except BlockKitError as e:
        raise Refused("invalid_arguments", f"[ERROR] {e}") from e
    return view
