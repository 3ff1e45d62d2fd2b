"""The Slack stand-in answers, refuses and records like Slack, and SignedSender talks to an app like Slack."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from freezegun import freeze_time
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from bot.sandbox import spec
from bot.sandbox.requests import SignedSender
from bot.sandbox.server import SlackStandIn

TOKEN = "xoxb-standin-token"
SECRET = "sandbox-signing-secret"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "QA-2027-01-017 is allocated to you"}}
BUTTONS = {
    "type": "actions",
    "block_id": "act",
    "elements": [
        {
            "type": "button",
            "action_id": "accept",
            "value": "QA-2027-01-017",
            "text": {"type": "plain_text", "text": "Accept"},
        }
    ],
}


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


MODAL = {
    "type": "modal",
    "callback_id": "feedback",
    "private_metadata": "audit:17",
    "title": _plain("Family feedback"),
    "submit": _plain("Save"),
    "blocks": [
        {
            "type": "input",
            "block_id": "how",
            "label": _plain("How obtained"),
            "element": {
                "type": "static_select",
                "action_id": "how_obtained",
                "options": [_option("Home visit", "visit"), _option("Phone call", "phone")],
            },
        },
        {
            "type": "input",
            "block_id": "voice",
            "label": _plain("Child's voice"),
            "element": {"type": "plain_text_input", "action_id": "child_voice", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "when",
            "label": _plain("Date"),
            "element": {"type": "datepicker", "action_id": "date", "initial_date": "2027-01-04"},
        },
        {
            "type": "input",
            "block_id": "who",
            "optional": True,
            "label": _plain("Who took part"),
            "element": {
                "type": "checkboxes",
                "action_id": "people",
                "options": [_option("Child", "child"), _option("Parent", "parent")],
            },
        },
    ],
}
HOME = {"type": "home", "blocks": [SECTION, BUTTONS]}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as s:
        s.add_user("U0ALICE", "alice@example.org", "Alice Auditor")
        s.add_user("U0BOB", "bob@example.org", "Bob Practitioner")
        yield s


def _client(standin: SlackStandIn, token: str | None = TOKEN, **kwargs: Any) -> WebClient:
    # No retry handlers: a test must see each answer exactly as the stand-in gave it.
    return WebClient(token=token, base_url=standin.api_url, retry_handlers=[], **kwargs)


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return _client(standin)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def refusal(call: Callable[[], object]) -> SlackResponse:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response


def test_spec_has_the_2020_methods_and_the_sdks_newer_ones():
    methods = spec.methods()
    assert len(methods) == 361
    assert methods["chat.update"] == ("channel", "ts")
    assert methods["views.open"] == ("trigger_id", "view")
    assert methods["users.lookupByEmail"] == ("email",)
    assert methods["auth.test"] == ()
    assert methods["apps.connections.open"] == ()
    # The upload flow's required arguments are not in the 2020 spec: the stand-in names them from Slack's docs.
    assert methods["files.getUploadURLExternal"] == ("filename", "length")
    assert methods["files.completeUploadExternal"] == ("files",)
    assert not [name for name, required in methods.items() if "token" in required]


def test_a_post_to_a_user_lands_in_their_dm_and_can_be_updated(standin, client):
    first = client.chat_postMessage(channel="U0ALICE", text="Allocated", blocks=[SECTION, BUTTONS])
    second = client.chat_postMessage(channel="U0ALICE", text="Reminder")
    assert first["channel"] == second["channel"] == "DU0ALICE"
    assert re.fullmatch(r"\d{10}\.\d{6}", first["ts"]) and second["ts"] > first["ts"]
    assert first["message"]["blocks"] == [SECTION, BUTTONS] and first["message"]["bot_id"] == "B0QABOT"
    assert standin.channel_of(first["ts"]) == "DU0ALICE"

    updated = client.chat_update(channel="DU0ALICE", ts=first["ts"], text="Accepted by Alice", blocks=[SECTION])
    assert (updated["ts"], updated["text"]) == (first["ts"], "Accepted by Alice")
    stored = standin.message(first["ts"])
    assert stored is not None and stored["text"] == "Accepted by Alice" and stored["blocks"] == [SECTION]
    assert first["message"]["text"] == "Allocated"  # what was answered earlier is not rewritten

    assert [c.args["text"] for c in standin.posted("U0ALICE")] == ["Allocated", "Reminder"]
    assert standin.posted("DU0ALICE") == standin.posted("U0ALICE") == standin.posted()
    assert standin.posted("U0BOB") == []
    # Slack wants the D… id to update, and the message must be in that channel.
    assert refusal(lambda: client.chat_update(channel="U0ALICE", ts=first["ts"], text="x"))["error"] == (
        "channel_not_found"
    )
    assert refusal(lambda: client.chat_update(channel="DU0ALICE", ts="1.000001", text="x"))["error"] == (
        "message_not_found"
    )
    client.chat_update(channel="DU0ALICE", ts=first["ts"], text="Accepted", blocks=[])
    assert "blocks" not in (standin.message(first["ts"]) or {"blocks": "missing message"})


def test_history_returns_metadata_newest_first_in_pages(standin, client):
    metadata = {"event_type": "qabot_outbox", "event_payload": {"key": "allocation:1"}}
    with freeze_time("2027-01-04 10:00:00"):
        first = client.chat_postMessage(channel="U0ALICE", text="Allocated", metadata=metadata)["ts"]
        reply = client.chat_postMessage(channel="U0ALICE", text="In the thread", thread_ts=first)["ts"]
        later = [client.chat_postMessage(channel="U0ALICE", text=f"Reminder {n}")["ts"] for n in range(3)]
    client.chat_postMessage(channel="U0BOB", text="Elsewhere")
    # Form-encoded, metadata comes as a JSON string, as the other JSON arguments do.
    client.api_call("chat.postMessage", data={"channel": "U0BOB", "text": "x", "metadata": json.dumps(metadata)})
    assert standin.message(standin.posted("U0BOB")[-1].response["ts"])["metadata"] == metadata

    page = client.conversations_history(channel="DU0ALICE", include_all_metadata=True, limit=2)
    assert [m["ts"] for m in page["messages"]] == [later[2], later[1]] and page["has_more"]
    rest = client.conversations_history(
        channel="DU0ALICE", include_all_metadata=True, limit=2, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["ts"] for m in rest["messages"]] == [later[0], first] and not rest["has_more"]
    assert rest["messages"][1]["metadata"] == metadata and reply not in [m["ts"] for m in rest["messages"]]
    # Metadata only when asked for; oldest excludes itself unless inclusive.
    plain = client.conversations_history(channel="DU0ALICE")["messages"]
    assert len(plain) == 4 and "metadata" not in plain[-1]
    assert len(client.conversations_history(channel="DU0ALICE", oldest=first)["messages"]) == 3
    assert len(client.conversations_history(channel="DU0ALICE", oldest=first, inclusive=True)["messages"]) == 4
    assert refusal(lambda: client.conversations_history(channel="DU0ALICE", cursor="ts_1.0"))["error"] == (
        "invalid_cursor"
    )
    assert refusal(lambda: client.conversations_history(channel="U0ALICE"))["error"] == "channel_not_found"
    assert client.conversations_open(users="U0ALICE")["channel"]["id"] == "DU0ALICE"
    bad = {"event_type": "qabot_outbox", "event_payload": "allocation:1"}
    assert refusal(lambda: client.chat_postMessage(channel="U0ALICE", text="x", metadata=bad))["error"] == (
        "invalid_metadata_schema"
    )


def test_the_api_url_exists_only_while_running():
    standin = SlackStandIn()
    with pytest.raises(RuntimeError):
        _ = standin.api_url
    with standin:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", standin.api_url)


def test_channels_must_be_known_and_the_bot_invited(standin, client):
    assert refusal(lambda: client.chat_postMessage(channel="C0QATEAM", text="hi"))["error"] == "channel_not_found"
    standin.add_channel("C0QATEAM", "qa-team")
    # Without chat:write.public (qabot's manifest has chat:write only) Slack refuses a channel the bot is not in.
    assert refusal(lambda: client.chat_postMessage(channel="C0QATEAM", text="hi"))["error"] == "not_in_channel"
    standin.invite_bot("C0QATEAM")
    assert client.chat_postMessage(channel="C0QATEAM", text="hi")["channel"] == "C0QATEAM"


def test_unknown_and_unmodelled_methods(standin, client):
    unknown = refusal(lambda: client.api_call("chat.postMesage", json={"channel": "U0ALICE"}))
    assert (unknown.status_code, unknown.data) == (200, {"ok": False, "error": "unknown_method"})
    newer = refusal(lambda: client.api_call("apps.connections.open"))
    assert newer["error"] == "standin_not_implemented"
    assert [(c.method, c.ok, c.error) for c in standin.calls] == [
        ("chat.postMesage", False, "unknown_method"),
        ("apps.connections.open", False, "standin_not_implemented"),
    ]


def test_a_missing_required_argument_is_refused_in_slacks_words(client):
    missing = refusal(lambda: client.api_call("chat.update", json={"channel": "DU0ALICE", "text": "x"}))
    assert missing.data == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": ["[ERROR] missing required field: ts"]},
    }
    both = refusal(lambda: client.api_call("chat.postEphemeral", data={"text": "x"}))
    assert both["response_metadata"]["messages"] == [
        "[ERROR] missing required field: channel",
        "[ERROR] missing required field: user",
    ]


def test_get_with_the_token_as_an_argument_works_too(standin):
    url = f"{standin.api_url}users.lookupByEmail?token={TOKEN}&email=alice%40example.org"
    with urlopen(url) as answer:
        assert json.load(answer)["user"]["id"] == "U0ALICE"
    assert standin.last("users.lookupByEmail").args == {"email": "alice@example.org"}  # token kept out


def test_a_missing_or_wrong_token_is_refused(standin):
    assert refusal(lambda: _client(standin, token=None).auth_test())["error"] == "not_authed"
    assert refusal(lambda: _client(standin, token="xoxb-wrong").auth_test())["error"] == "invalid_auth"
    assert _client(standin).auth_test().data == {
        "ok": True,
        "url": "https://standin.slack.com/",
        "team": "Stand-in",
        "user": "qabot",
        "team_id": "T0STANDIN",
        "user_id": "U0QABOT",
        "bot_id": "B0QABOT",
        "is_enterprise_install": False,
    }
    assert [c.error for c in standin.calls] == ["not_authed", "invalid_auth", None]


def test_a_message_needs_text_or_blocks(client):
    refused = refusal(lambda: client.api_call("chat.postMessage", json={"channel": "U0ALICE", "text": ""}))
    assert refused["error"] == "no_text"


@pytest.mark.parametrize(
    ("blocks", "detail"),
    [([SECTION] * 51, "51 blocks"), ([{"type": "section"}], "block 0"), ([{"type": "no_such_block"}], "block 0")],
)
def test_blocks_slack_would_reject_are_invalid_blocks(standin, client, blocks, detail):
    refused = refusal(lambda: client.chat_postMessage(channel="U0ALICE", text="x", blocks=blocks))
    assert refused["error"] == "invalid_blocks"
    [message] = refused["response_metadata"]["messages"]
    assert message.startswith("[ERROR] ") and detail in message
    assert standin.posted() == []


def test_blocks_are_checked_on_update_and_in_form_encoded_calls(standin, client):
    ts = client.chat_postMessage(channel="U0ALICE", text="x", blocks=[SECTION])["ts"]
    assert refusal(lambda: client.chat_update(channel="DU0ALICE", ts=ts, text="x", blocks=[SECTION] * 51))["error"] == (
        "invalid_blocks"
    )
    assert (standin.message(ts) or {})["blocks"] == [SECTION]
    form = {"channel": "U0ALICE", "text": "x", "blocks": json.dumps([SECTION])}
    assert client.api_call("chat.postMessage", data=form)["message"]["blocks"] == [SECTION]
    bad = refusal(lambda: client.api_call("chat.postMessage", data={**form, "blocks": "[{"}))
    assert bad["error"] == "invalid_blocks_format"


def test_an_ephemeral_message_cannot_go_into_someone_elses_dm(client):
    client.conversations_open(users="U0ALICE")
    assert re.fullmatch(
        r"\d+\.\d{6}", client.chat_postEphemeral(channel="DU0ALICE", user="U0ALICE", text="hi")["message_ts"]
    )
    refused = refusal(lambda: client.chat_postEphemeral(channel="DU0ALICE", user="U0BOB", text="hi"))
    assert refused["error"] == "user_not_in_channel"


def test_users_and_dms(client):
    user = client.users_lookupByEmail(email="Alice@Example.org")["user"]
    assert (user["id"], user["tz"], user["profile"]["email"]) == ("U0ALICE", "Europe/London", "alice@example.org")
    assert refusal(lambda: client.users_lookupByEmail(email="nobody@example.org"))["error"] == "users_not_found"
    assert client.users_info(user="U0BOB")["user"]["real_name"] == "Bob Practitioner"
    assert refusal(lambda: client.users_info(user="U0NOBODY"))["error"] == "user_not_found"
    assert client.conversations_open(users="U0BOB")["channel"] == {"id": "DU0BOB"}


def test_a_trigger_id_is_good_once_for_three_seconds():
    now = [1000.0]
    with SlackStandIn(clock=lambda: now[0]) as standin:
        client = _client(standin)

        def error(trigger: str, view: dict[str, Any] = MODAL) -> str:
            return refusal(lambda: client.views_open(trigger_id=trigger, view=view))["error"]

        fresh = standin.new_trigger_id()
        untitled = {k: v for k, v in MODAL.items() if k != "title"}
        assert error(fresh, untitled) == "invalid_arguments"  # a refused view does not use the trigger up
        view = client.views_open(trigger_id=fresh, view=MODAL)["view"]
        assert re.fullmatch(r"V\d{10}", view["id"]) and view["hash"] and view["root_view_id"] == view["id"]
        assert (view["callback_id"], view["private_metadata"], view["state"]) == (
            "feedback",
            "audit:17",
            {"values": {}},
        )
        assert standin.view(view["id"]) == view
        assert error(fresh) == "exchanged_trigger_id"

        late = standin.new_trigger_id()
        in_time = standin.new_trigger_id()
        now[0] += 2.9
        assert client.views_push(trigger_id=in_time, view=MODAL)["ok"]
        now[0] += 1.1
        assert error(late) == "expired_trigger_id"
        assert error("123.456.notfromslack") == "invalid_trigger_id"


def test_trigger_expiry_ignores_a_frozen_test_clock(standin, client):
    with freeze_time("2027-01-04 09:00:00") as frozen:
        trigger = standin.new_trigger_id()
        frozen.tick(3600)  # the bot's clock jumps an hour; real seconds do not pass
        assert client.views_open(trigger_id=trigger, view=MODAL)["ok"]


def test_views_update_checks_the_hash_and_publish_keeps_one_home(standin, client):
    view = client.views_open(trigger_id=standin.new_trigger_id(), view=MODAL)["view"]
    saving = {"type": "modal", "title": _plain("Family feedback"), "blocks": [SECTION]}
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=saving)["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"] and updated["blocks"] == [SECTION]
    assert refusal(lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=saving))["error"] == (
        "hash_conflict"
    )
    assert refusal(lambda: client.views_update(view_id="V0NOSUCH", view=saving))["error"] == "not_found"

    home = client.views_publish(user_id="U0ALICE", view=HOME)["view"]
    again = client.views_publish(user_id="U0ALICE", view=HOME, hash=home["hash"])["view"]
    assert again["id"] == home["id"] and standin.home("U0ALICE") == again
    assert standin.home("U0BOB") is None
    assert refusal(lambda: client.views_publish(user_id="U0ALICE", view=MODAL))["error"] == "invalid_arguments"


def test_an_injected_429_carries_retry_after(standin, client):
    standin.inject("chat.postMessage", status=429, retry_after=7)
    assert client.auth_test()["ok"]  # other methods are not affected
    limited = refusal(lambda: client.chat_postMessage(channel="U0ALICE", text="hi"))
    assert (limited.status_code, limited.headers["Retry-After"], limited["error"]) == (429, "7", "ratelimited")
    assert client.chat_postMessage(channel="U0ALICE", text="hi")["ok"]  # times=1: the next call goes through
    assert [(c.method, c.ok, c.error) for c in standin.calls] == [
        ("auth.test", True, None),
        ("chat.postMessage", False, "injected_429"),
        ("chat.postMessage", True, None),
    ]


def test_an_injected_5xx_is_not_json(standin, client):
    standin.inject(status=503, times=2)
    for _ in range(2):
        failed = refusal(client.auth_test)
        assert failed.status_code == 503 and failed.headers["Content-Type"] == "text/html"
        assert failed["error"].startswith("Received a response in a non-JSON format: <html>")
        assert "Retry-After" not in failed.headers
    assert client.auth_test()["ok"]
    assert [c.error for c in standin.calls] == ["injected_503", "injected_503", None]


def test_an_injected_delay_times_out_yet_the_message_is_posted(standin):
    standin.inject("chat.postMessage", delay=1.5)
    slow = _client(standin, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        slow.chat_postMessage(channel="U0ALICE", text="slow")
    assert time.monotonic() - started < 1.4
    [call] = standin.posted("U0ALICE")  # Slack did post it; only the answer was late
    assert (call.error, call.response["channel"] if call.response else None) == ("injected_delay", "DU0ALICE")


def test_random_faults_are_reproducible_by_seed():
    def errors(seed: int) -> list[str | None]:
        with SlackStandIn() as standin:
            standin.fail_randomly(0.4, seed)
            client = _client(standin)
            for _ in range(25):
                try:
                    client.auth_test()
                except SlackApiError:
                    pass
            standin.fail_randomly(0, seed)
            client.auth_test()  # rate 0 stops the faults
            return [c.error for c in standin.calls]

    first = errors(7)
    assert first == errors(7) and first != errors(8)
    assert set(first) == {None, "injected_429", "injected_500"} and first[-1] is None


def test_a_response_url_records_what_is_posted(standin):
    url = standin.response_url()
    answer = WebhookClient(url).send(text="Only Alice may accept", response_type="ephemeral", replace_original=False)
    assert (answer.status_code, answer.body) == (200, '{"ok": true}')
    [responded] = standin.responses
    assert responded.url_id == url.rsplit("/", 1)[1]
    assert responded.body == {"text": "Only Alice may accept", "response_type": "ephemeral", "replace_original": False}
    assert WebhookClient(url.rsplit("/", 1)[0] + "/nosuchid").send(text="x").status_code == 404
    with pytest.raises(HTTPError) as caught:
        urlopen(Request(url, data=b"not json", method="POST"))
    assert caught.value.code == 400


# -- SignedSender against a real Bolt app ---------------------------------------------------------------


class _BoltServer(ThreadingHTTPServer):
    """Hands each request to a Bolt App, keeping the headers and body that arrived."""

    def __init__(self, app: App):
        super().__init__(("127.0.0.1", 0), _BoltHandler)
        self.app = app
        self.seen: list[tuple[dict[str, str], str]] = []


class _BoltHandler(BaseHTTPRequestHandler):
    server: _BoltServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        headers = dict(self.headers.items())
        self.server.seen.append((headers, body))
        answer = self.server.app.dispatch(BoltRequest(body=body, headers=headers))
        self.send_response(answer.status)
        for name, values in answer.headers.items():
            for value in values:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bolt(standin) -> Iterator[tuple[SignedSender, dict[str, Any], list[tuple[dict[str, str], str]]]]:
    """A Bolt app whose listeners record what they got, and a sender signing requests to it."""
    app = App(signing_secret=SECRET, client=_client(standin), process_before_response=True)
    got: dict[str, Any] = {}

    @app.action("accept")
    def accept(ack, body, client):
        ack()
        got["action"] = body
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)  # the trigger must be the stand-in's

    @app.view("feedback")
    def submitted(ack, body):
        ack()
        got["submission"] = body

    @app.command("/qa")
    def command(ack, respond):
        ack()
        respond("pong")

    @app.event("app_home_opened")
    def home(event, client):
        got["event"] = event
        client.views_publish(user_id=event["user"], view=HOME)

    server = _BoltServer(app)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        yield SignedSender(url, SECRET, standin), got, server.seen
    finally:
        server.shutdown()
        server.server_close()


def test_signed_requests_verify_with_slack_sdk(bolt):
    sender, _, seen = bolt
    assert sender.url_verification().status == 200
    headers, body = seen[-1]
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)


def test_a_bad_secret_or_a_stale_timestamp_gets_401(bolt):
    sender, got, _ = bolt
    assert sender.command("U0ALICE", "/qa", "help", secret="not-the-secret").status == 401
    assert sender.command("U0ALICE", "/qa", "help", timestamp=int(time.time()) - 600).status == 401
    assert sender.command("U0ALICE", "/qa", "help").status == 200


def test_url_verification_echoes_the_challenge(bolt):
    sender, _, _ = bolt
    answer = sender.url_verification()
    assert answer.json() == {"challenge": answer.sent["challenge"]}


def test_a_click_on_a_stored_message_reaches_the_listener_in_slacks_shape(standin, client, bolt):
    sender, got, seen = bolt
    posted = client.chat_postMessage(channel="U0ALICE", text="Allocated", blocks=[SECTION, BUTTONS])
    message = standin.message(posted["ts"])
    answer = sender.block_action(
        "U0ALICE", "accept", "QA-2027-01-017", block_id="act", message=message, action_ts="1767517200.000001"
    )
    assert answer.status == 200
    body = got["action"]
    assert _lower(seen[-1][0])["content-type"] == "application/x-www-form-urlencoded"
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "DU0ALICE",
        "is_ephemeral": False,
    }
    assert (body["channel"], body["message"], body["team"]["id"], body["api_app_id"]) == (
        {"id": "DU0ALICE"},
        message,
        "T0STANDIN",
        "A0QABOT",
    )
    assert body["actions"] == [
        {
            "action_id": "accept",
            "block_id": "act",
            "value": "QA-2027-01-017",
            "type": "button",
            "action_ts": "1767517200.000001",
        }
    ]
    assert body["response_url"].startswith(standin.api_url.removesuffix("api/") + "respond/")
    assert standin.last("views.open").ok  # Bolt opened a modal with the trigger_id the click carried


@freeze_time("2027-01-04 09:00:00")
def test_clicks_default_to_fresh_action_ts_and_a_dm_container(bolt):
    sender, got, _ = bolt
    first = sender.block_action("U0BOB", "accept", "1").sent["actions"][0]["action_ts"]
    assert got["action"]["container"]["channel_id"] == "DU0BOB" and got["action"]["container"]["is_ephemeral"]
    assert "message" not in got["action"]
    # Two clicks are two action_ts even while the clock stands still (a double-click in a frozen test).
    assert sender.block_action("U0BOB", "accept", "1").sent["actions"][0]["action_ts"] != first


def test_a_view_submission_carries_state_values_in_slacks_shape(standin, client, bolt):
    sender, got, _ = bolt
    view = client.views_open(trigger_id=standin.new_trigger_id(), view=MODAL)["view"]
    values = {"how": {"how_obtained": "visit"}, "voice": {"child_voice": "Likes school"}}
    assert sender.view_submission("U0ALICE", view, values).status == 200
    submitted = got["submission"]["view"]
    assert (submitted["id"], submitted["callback_id"], submitted["private_metadata"]) == (
        view["id"],
        "feedback",
        "audit:17",
    )
    assert submitted["state"]["values"] == {
        "how": {"how_obtained": {"type": "static_select", "selected_option": _option("Home visit", "visit")}},
        "voice": {"child_voice": {"type": "plain_text_input", "value": "Likes school"}},
        "when": {"date": {"type": "datepicker", "selected_date": "2027-01-04"}},
        "who": {"people": {"type": "checkboxes", "selected_options": []}},
    }
    with pytest.raises(ValueError, match="no option with value 'email'"):
        sender.view_submission("U0ALICE", view, {"how": {"how_obtained": "email"}})
    with pytest.raises(ValueError, match="no input"):
        sender.view_submission("U0ALICE", view, {"nosuch": {"field": "x"}})


def test_a_command_can_be_answered_through_its_response_url(standin, bolt):
    sender, _, _ = bolt
    assert sender.command("U0ALICE", "/qa", "help").status == 200
    assert standin.responses[-1].body["text"] == "pong"


def test_a_retried_event_carries_the_retry_headers_and_home_clicks_carry_the_view(standin, bolt):
    sender, got, seen = bolt
    first = sender.app_home_opened("U0ALICE")
    assert "view" not in first.sent["event"]  # nothing published yet
    again = sender.app_home_opened("U0ALICE", event_id=first.sent["event_id"], retry_num=1)
    assert again.status == 200 and again.sent["event"]["view"]["id"] == (standin.home("U0ALICE") or {})["id"]
    headers = _lower(seen[-1][0])
    assert (headers["x-slack-retry-num"], headers["x-slack-retry-reason"]) == ("1", "http_timeout")
    assert json.loads(seen[-1][1])["event_id"] == first.sent["event_id"]
    assert got["event"]["tab"] == "home" and got["event"]["channel"] == "DU0ALICE"

    home = standin.home("U0ALICE") or {}
    sender.block_action("U0ALICE", "accept", "x", container={"type": "view", "view_id": home["id"]})
    assert got["action"]["view"]["id"] == home["id"]
    assert not {"response_url", "channel", "message"} & set(got["action"])
