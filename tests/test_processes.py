"""The real commands as a deployment runs them: `qabot serve` and `qabot clock` as processes, and the Socket
Mode adapter dispatching Slack's envelopes."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.request import urlopen
from zoneinfo import ZoneInfo

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import select

from bot.app import build_app
from bot.sandbox.requests import SignedSender
from bot.workflow import allocation
from scheduler.jobs import SWEEPS
from store.models import Case, OutboxMessage, Person
from tests.conftest import SIGNING_SECRET

ROOT = Path(__file__).parents[1]


def _env(settings, **extra) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "QABOT_QA_CHANNEL": settings.qa_channel,
        **extra,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(check, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


def _serve(settings, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=_env(settings, PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_qabot_serve_answers_slack_and_healthz(settings, standin, world):
    port = _free_port()
    process = _serve(settings, port)
    try:

        def healthy():
            try:
                with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    return json.load(response)["database"] is True
            except OSError:
                return False

        assert _wait_for(healthy), "qabot serve did not come up"
        sender = SignedSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, standin)
        assert sender.app_home_opened("U0AUD").status == 200
        # Slack heard "ok" first: the Home tab is published a moment later.
        assert _wait_for(lambda: standin.home("U0AUD") is not None)
        assert standin.home("U0AUD")["type"] == "home"
        assert sender.app_home_opened("U0AUD", secret="wrong").status == 401
    finally:
        err = _stop(process)
    assert "Traceback" not in err


def test_qabot_serve_stopped_finishes_what_it_acknowledged(settings, standin, world):
    port = _free_port()
    process = _serve(settings, port)
    try:
        sender = SignedSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, standin)

        def up():
            try:
                return sender.url_verification().status == 200
            except OSError:
                return False

        assert _wait_for(up), "qabot serve did not come up"
        standin.inject("views.publish", delay=3)  # Slack is slow to answer: the work outlives the request
        assert sender.app_home_opened("U0AUD").status == 200
        stopped = time.monotonic()
    finally:
        err = _stop(process)
    # SIGTERM was handled (exit 0, not killed by the signal) only after the acknowledged work had finished.
    assert process.returncode == 0, err
    assert time.monotonic() - stopped >= 2.5
    assert standin.home("U0AUD")["type"] == "home"
    assert "Traceback" not in err


def test_qabot_clock_sends_what_is_due(rt, settings, standin, world):
    london = ZoneInfo("Europe/London")
    with rt.database.unit_of_work() as db:
        audit = allocation.allocate(
            db, rt.calendar, rt.settings, db.get(Case, world.case_id), db.get(Person, world.people["amira"]), "2027-01"
        )
        # The auditor was reminded in a digest; telling the QA team it is still not accepted is due now.
        audit.reminders_sent, audit.next_reminder_at = 1, datetime.now(london) - timedelta(minutes=1)
        key = f"allocation:{audit.id}:qa-told:{audit.auditor_id}"
    # Any hour is a working hour here, so only a weekend or bank holiday can hold the message back.
    env = _env(settings, QABOT_WORKING_HOURS="00:00-23:59")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "clock"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:

        def queued():
            with rt.database.unit_of_work() as db:
                return db.scalar(select(OutboxMessage).where(OutboxMessage.key == key))

        assert _wait_for(queued, 60), "the clock did not run the allocation sweep"
        working_day = rt.calendar.is_working_day(datetime.now(london).date())
        if working_day:
            # The clock's delivery job runs every 5 seconds; a loaded CI machine may take a few rounds.
            _wait_for(lambda: queued().status == "sent", 60)
    finally:
        err = _stop(process)
    row = queued()
    if working_day:
        assert row.status == "sent", (
            row.status,
            row.available_at,
            row.last_error,
            [c.method for c in standin.calls],
            err,
        )
        assert "has not been accepted" in standin.posted(settings.qa_channel)[-1].args["text"]
    else:
        assert row.status == "pending" and row.available_at > datetime.now(london)
    assert f"clock started with jobs: {', '.join(job.name for job in SWEEPS)}, outbox" in err


class _RecordingSocketClient:
    def __init__(self):
        self.sent = []
        self.logger = logging.getLogger("test.socket")

    def send_socket_mode_response(self, response):
        self.sent.append(response)


def test_socket_mode_envelopes_dispatch_once_per_event(rt, standin, world):
    handler = SocketModeHandler(build_app(rt), app_token="xapp-1-test")
    assert handler.client.web_client.base_url == standin.api_url
    # The envelope shape of Slack's Socket Mode (python-slack-sdk's mock server), carrying app_home_opened.
    envelope = {
        "envelope_id": "1d3c79ab-0ffb-41f3-a080-d19e85f53649",
        "payload": {
            "token": "verification-token",
            "team_id": "T0STANDIN",
            "api_app_id": "A0QABOT",
            "event": {
                "type": "app_home_opened",
                "user": "U0AUD",
                "channel": "DU0AUD",
                "tab": "home",
                "event_ts": "1767517200.000100",
            },
            "type": "event_callback",
            "event_id": "Ev0SOCKET1",
            "event_time": 1767517200,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": "T0STANDIN",
                    "user_id": "U0QABOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "1-app_home_opened-T0STANDIN-DU0AUD",
        },
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
    }
    client = _RecordingSocketClient()
    for attempt in (0, 1):
        envelope["retry_attempt"] = attempt
        handler.handle(client, SocketModeRequest.from_dict(envelope))
    assert len(client.sent) == 2  # both acknowledged
    assert rt.settle(10)
    assert [c.method for c in standin.calls if c.method == "views.publish"] == ["views.publish"]
