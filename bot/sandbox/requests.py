"""Requests to the app's /slack/events, shaped and signed as Slack sends them.

Shapes follow the samples in the shared slack-spec/payloads (taken from Slack's own SDK test suites). With a
stand-in, trigger_ids and response_urls are real ones the stand-in will honour.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.server import APP_ID, BOT_USER_ID, TEAM_ID, SlackStandIn, dm_channel

VERIFICATION_TOKEN = "standin-verification-token"  # the deprecated token Slack still puts in payloads
_TEAM = {"id": TEAM_ID, "domain": "standin"}
_seq = itertools.count(1)

# The element types of input blocks -> the field their value arrives in, in view.state.values.
FIELDS = {
    "plain_text_input": "value",
    "number_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
}


@dataclass(frozen=True)
class Response:
    """The app's answer, and the payload that was sent (to reuse its event_id, action_ts, trigger_id…)."""

    status: int
    headers: dict[str, str]
    body: str
    sent: dict[str, Any]
    # The request exactly as it went (body and headers, signature included), for `SignedSender.replay`.
    request: tuple[str, dict[str, str]] | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class Signing(TypedDict, total=False):
    timestamp: int  # X-Slack-Request-Timestamp; default now, an old one tests replay protection
    secret: str  # signs instead of the app's signing secret, to test that bad signatures are refused


class SignedSender:
    """With `settle` (an in-process app's `Runtime.settle`), each request returns once the work the app did after
    acknowledging it is done too, so the next step sees its result, as a person would a moment later."""

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        standin: SlackStandIn | None = None,
        settle: Callable[[], object] | None = None,
    ):
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.standin = standin
        self.settle = settle

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        **signing: Unpack[Signing],
    ) -> Response:
        """An event_callback; with retry_num, a redelivery (pass the first delivery's event_id)."""
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev0{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                },
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self._post(json.dumps(payload), "application/json", payload, headers, **signing)

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        block_id: str = "b",
        message: dict[str, Any] | None = None,
        channel_id: str | None = None,
        container: dict[str, Any] | None = None,
        action_ts: str | None = None,
        element: dict[str, Any] | None = None,
        **signing: Unpack[Signing],
    ) -> Response:
        """A button click; with `element` (a static_select, overflow or datepicker as the message shows it), a choice
        in it instead, `value` being the chosen option's value or the date (YYYY-MM-DD). In a message: pass the
        message as the stand-in stored it (`message(ts)`); with neither message nor container it is a click in an
        ephemeral message in `channel_id` (default: the user's DM with the bot). In a modal or App Home: pass
        container={"type": "view", "view_id": …}. The same action_ts twice is one click delivered twice; a
        double-click is two clicks with different action_ts (the default: a fresh one)."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._trigger_id(),
            "team": _TEAM,
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [
                _chosen(element, value)
                | {"action_id": action_id, "block_id": block_id, "action_ts": action_ts or _fresh_ts()}
            ],
        }
        if message is not None and channel_id is None and self.standin is not None:
            channel_id = self.standin.channel_of(message["ts"])
        if container is None:
            channel_id = channel_id or dm_channel(user_id)
            message_ts = message["ts"] if message is not None else _fresh_ts()
            container = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": message is None,
            }
        payload["container"] = container
        if container["type"] == "view":
            # Clicks in a modal or App Home carry the view, and no channel, message or response_url.
            view = self.standin.view(container["view_id"]) if self.standin is not None else None
            if view is not None:
                payload["view"] = view
        else:
            payload["channel"] = {"id": container["channel_id"]}
            if message is not None:
                payload["message"] = message
            payload["state"] = {"values": {}}
            payload["response_url"] = self._response_url()
        return self._post_form(payload, **signing)

    def view_submission(
        self,
        user_id: str,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        *,
        private_metadata: str | None = None,
        callback_id: str | None = None,
        **signing: Unpack[Signing],
    ) -> Response:
        """Submit `view` (as opened, e.g. `standin.view(id)`). `values` maps block_id -> action_id -> the
        plain value (a string; option values for selects, a list for multi-selects and checkboxes); they
        are sent in Slack's state shape, untouched inputs at their initial value or empty.
        private_metadata and callback_id default to the view's own."""
        submitted = _as_submitted(view, values, private_metadata, callback_id)
        payload = {
            "type": "view_submission",
            "team": _TEAM,
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._trigger_id(),
            "view": submitted,
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return self._post_form(payload, **signing)

    def view_closed(
        self, user_id: str, view: dict[str, Any], values: dict[str, dict[str, Any]], **signing: Unpack[Signing]
    ) -> Response:
        """The person closed a modal that asked to be told (`notify_on_close`), with what they had typed."""
        payload = {
            "type": "view_closed",
            "team": _TEAM,
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "view": _as_submitted(view, values, None, None),
            "is_cleared": False,
        }
        return self._post_form(payload, **signing)

    def command(
        self,
        user_id: str,
        command: str,
        text: str,
        *,
        channel_id: str = "C0STANDIN",
        **signing: Unpack[Signing],
    ) -> Response:
        """A slash command, form-encoded like Slack's."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "team_domain": _TEAM["domain"],
            "channel_id": channel_id,
            "channel_name": "standin",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(),
            "trigger_id": self._trigger_id(),
        }
        return self._post(urlencode(fields), "application/x-www-form-urlencoded", fields, {}, **signing)

    def shortcut(self, user_id: str, callback_id: str, **signing: Unpack[Signing]) -> Response:
        """A global shortcut (the lightning-bolt menu): no channel, message or response_url."""
        payload = {
            "type": "shortcut",
            "token": VERIFICATION_TOKEN,
            "action_ts": _fresh_ts(),
            "team": _TEAM,
            "user": _user(user_id),
            "callback_id": callback_id,
            "trigger_id": self._trigger_id(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return self._post_form(payload, **signing)

    def app_home_opened(
        self,
        user_id: str,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        **signing: Unpack[Signing],
    ) -> Response:
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": dm_channel(user_id),
            "tab": "home",
            "event_ts": _fresh_ts(),
        }
        home = self.standin.home(user_id) if self.standin is not None else None
        if home is not None:  # Slack sends the view only once a home has been published
            event["view"] = home
        return self.event(event, event_id=event_id, retry_num=retry_num, **signing)

    def url_verification(self, **signing: Unpack[Signing]) -> Response:
        challenge = secrets.token_urlsafe(24)
        payload = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self._post(json.dumps(payload), "application/json", payload, {}, **signing)

    def replay(self, response: Response) -> Response:
        """Send the same request again, byte for byte with its signature and timestamp, as an attacker who
        captured it would."""
        assert response.request is not None
        body, headers = response.request
        return self._send(body, headers, response.sent)

    def interaction(self, payload: dict[str, Any], **signing: Unpack[Signing]) -> Response:
        """Any interaction payload, form-encoded and signed as Slack sends one: for payloads malformed beyond what
        the helpers above build (fuzzing, forgeries)."""
        return self._post_form(payload, **signing)

    def _trigger_id(self) -> str:
        return self.standin.new_trigger_id() if self.standin is not None else "0.0.no-standin"

    def _response_url(self) -> str:
        # Without a stand-in, a URL nothing listens on: a respond() fails loudly rather than reach Slack.
        return self.standin.response_url() if self.standin is not None else "http://127.0.0.1:9/no-standin"

    def _post_form(self, payload: dict[str, Any], **signing: Unpack[Signing]) -> Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self._post(body, "application/x-www-form-urlencoded", payload, {}, **signing)

    def _post(
        self,
        body: str,
        content_type: str,
        sent: dict[str, Any],
        headers: dict[str, str],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Response:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(self.signing_secret if secret is None else secret)
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body) or "",
            **headers,
        }
        return self._send(body, headers, sent)

    def _send(self, body: str, headers: dict[str, str], sent: dict[str, Any]) -> Response:
        request = Request(self.events_url, data=body.encode(), method="POST", headers=headers)
        try:
            with urlopen(request, timeout=30) as answer:
                response = Response(
                    answer.status, dict(answer.headers.items()), answer.read().decode(), sent, (body, headers)
                )
        except HTTPError as e:  # Bolt answers 401 to a bad signature: a result to assert on, not a crash
            response = Response(e.code, dict(e.headers.items()), e.read().decode(), sent, (body, headers))
        if self.settle is not None and not self.settle():
            raise TimeoutError("the app's work after acknowledging the request did not finish")
        return response


def _chosen(element: dict[str, Any] | None, value: str) -> dict[str, Any]:
    """What Slack reports of the element clicked: a button's value, or what was chosen in a select or date picker."""
    if element is None:
        return {"type": "button", "value": value}
    if element["type"] == "datepicker":
        return {"type": "datepicker", "selected_date": value}
    return {"type": element["type"], "selected_option": _option(element, value)}


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def _fresh_ts() -> str:
    # Unique even while a test freezes the clock: two clicks must never share an action_ts by accident.
    return f"{int(time.time())}.{next(_seq) % 1_000_000:06d}"


def _state_values(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    unused = {(block_id, action_id) for block_id, actions in values.items() for action_id in actions}
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not element:
            continue
        block_id, action_id, kind = block["block_id"], element["action_id"], element["type"]
        field = FIELDS[kind]
        if (block_id, action_id) in unused:
            unused.discard((block_id, action_id))
            value = values[block_id][action_id]
            if field == "selected_option":
                value = _option(element, value)
            elif field == "selected_options":
                value = [_option(element, v) for v in value]
        else:  # Slack reports an untouched input at its initial value, or empty (null, or [] for lists)
            empty = [] if field.endswith("s") else None
            value = element.get("initial_" + field.removeprefix("selected_"), empty)
        state.setdefault(block_id, {})[action_id] = {"type": kind, field: value}
    if unused:
        raise ValueError(f"the view has no input for {sorted(unused)}")
    return state


def _option(element: dict[str, Any], value: str | None) -> dict[str, Any] | None:
    """The option object Slack sends for a chosen value; a value the element does not offer cannot be sent."""
    if value is None:
        return None
    groups = element.get("option_groups", [])
    for option in [*element.get("options", []), *(o for group in groups for o in group["options"])]:
        if option["value"] == value:
            return option
    raise ValueError(f"{element['action_id']} offers no option with value {value!r}")


def _as_submitted(
    view: dict[str, Any], values: dict[str, dict[str, Any]], private_metadata: str | None, callback_id: str | None
) -> dict[str, Any]:
    """The view as Slack sends it back: with its state, in Slack's shape."""
    view_id = view.get("id") or f"V0{secrets.token_hex(5).upper()}"
    submitted = {
        "team_id": TEAM_ID,
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        **view,
        "id": view_id,
        "state": {"values": _state_values(view, values)},
    }
    if private_metadata is not None:
        submitted["private_metadata"] = private_metadata
    if callback_id is not None:
        submitted["callback_id"] = callback_id
    return submitted
