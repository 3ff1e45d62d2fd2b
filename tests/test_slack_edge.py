"""The HTTP edge: Bolt verifies signatures, /healthz reports the database, events and clicks act once."""

import json
import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.app import build_app
from bot.runtime import Runtime
from bot.server import background_server
from bot.workflow import allocation
from store.models import Case, Event, Highlight, IdempotencyKey, Person


def _count(rt, model) -> int:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_healthz_reports_a_reachable_database(slack):
    base = slack.events_url.rsplit("/slack/events", 1)[0]
    with urlopen(f"{base}/healthz") as response:
        assert response.status == 200
        assert json.load(response) == {"status": "ok", "database": True}


def test_healthz_says_503_when_the_database_is_unreachable(settings, tmp_path):
    rt = Runtime.build(replace(settings, database_url=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"))
    server, base = background_server(rt)
    try:
        with pytest.raises(Exception) as caught:
            urlopen(f"{base}/healthz")
        assert caught.value.code == 503
        assert json.load(caught.value) == {"status": "unavailable", "database": False}
    finally:
        server.close()
        rt.close()


def test_url_verification_is_answered(slack):
    response = slack.url_verification()
    assert response.status == 200 and "challenge" in response.body


@pytest.mark.parametrize("tamper", ["secret", "stale"])
def test_bad_or_stale_signature_gets_401_and_writes_nothing(slack, rt, world, tamper):
    kwargs = {"secret": "not-the-secret"} if tamper == "secret" else {"timestamp": int(time.time()) - 600}
    before = _count(rt, Event), _count(rt, IdempotencyKey)
    response = slack.block_action("U0AUD", "allocation_accept", "1", **kwargs)
    assert response.status == 401
    assert (_count(rt, Event), _count(rt, IdempotencyKey)) == before


def test_a_refused_request_is_logged_without_what_was_typed(slack, caplog):
    caplog.set_level(logging.INFO, logger="slack_bolt.RequestVerification")  # as `qabot serve` logs
    response = slack.command("U0QA", "/qa", "highlight Dad on 07700 900456", secret="not-the-secret")
    assert response.status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Invalid request signature detected: the request was refused" in logged
    assert "07700" not in logged and "highlight" not in logged


def test_every_web_api_call_goes_to_slack_api_url(slack, standin, world):
    slack.app_home_opened("U0AUD")
    assert [c.method for c in standin.calls if c.method != "auth.test"] == ["views.publish"]
    assert standin.home("U0AUD")["type"] == "home"


def test_a_retried_event_acts_once(slack, standin, rt, world):
    first = slack.app_home_opened("U0AUD", event_id="Ev0HOME1")
    again = slack.app_home_opened("U0AUD", event_id="Ev0HOME1", retry_num=1)
    assert (first.status, again.status) == (200, 200)
    assert [c.method for c in standin.calls if c.method != "auth.test"] == ["views.publish"]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_socket_mode_first_delivery_is_not_taken_for_a_retry(slack, standin, world):
    # Socket Mode reports retry_attempt 0 on a first delivery; only the event id decides.
    slack.app_home_opened("U0AUD", event_id="Ev0SOCK", retry_num=0)
    assert [c.method for c in standin.calls if c.method != "auth.test"] == ["views.publish"]


def test_unknown_path_is_404(slack):
    base = slack.events_url.rsplit("/slack/events", 1)[0]
    with pytest.raises(Exception) as caught:
        urlopen(f"{base}/nothing-here")
    assert caught.value.code == 404


def test_qa_help_is_answered_ephemerally(slack, standin, world):
    response = slack.command("U0PRAC", "/qa", "help")
    assert response.status == 200
    assert standin.responses[-1].body["response_type"] == "ephemeral"
    assert "/qa" in standin.responses[-1].body["text"]


def test_building_the_app_logs_no_warning_about_the_token(rt, monkeypatch, caplog):
    # Bolt reads SLACK_BOT_TOKEN itself, as a deployed process has it set.
    monkeypatch.setenv("SLACK_BOT_TOKEN", rt.settings.slack_bot_token)
    with caplog.at_level(logging.WARNING):
        build_app(rt)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


LONDON = ZoneInfo("Europe/London")


def _allocated(rt, world) -> int:
    with rt.database.unit_of_work() as db:
        amira = db.get(Person, world.people["amira"])
        return allocation.allocate(db, rt.calendar, rt.settings, db.get(Case, world.case_id), amira, "2027-01").id


def _accepted(rt) -> int:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(Event).where(Event.kind == "audit.accepted"))


def test_a_replayed_click_acts_once_and_after_five_minutes_is_401(slack, rt, world):
    """Someone who captured a genuine signed request sends it again, byte for byte: within the signature's five
    minutes its request key was claimed already, so it acts once; after them Bolt refuses it, writing nothing."""
    moment = datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
    with freeze_time(moment, tick=True) as clock:
        audit = _allocated(rt, world)
        first = slack.block_action("U0AUD", "allocation_accept", str(audit))
        claims, events = _count(rt, IdempotencyKey), _count(rt, Event)
        again = slack.replay(first)
        assert (first.status, again.status) == (200, 200)
        assert (_accepted(rt), _count(rt, IdempotencyKey), _count(rt, Event)) == (1, claims, events)
        clock.move_to(moment + timedelta(minutes=5, seconds=30))
        late = slack.replay(first)
        assert late.status == 401
        assert (_accepted(rt), _count(rt, IdempotencyKey), _count(rt, Event)) == (1, claims, events)


def test_a_replayed_command_or_form_acts_once(slack, standin, rt, world):
    """A command (`/qa highlight`) and the form it opens, each sent again within five minutes: one form opened,
    one highlight posted."""
    with freeze_time(datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), tick=True):
        command = slack.command("U0QA", "/qa", "highlight")
        assert slack.replay(command).status == 200
        opened = [c for c in standin.calls if c.method == "views.open"]
        assert len(opened) == 1
        values = {"theme": {"answer": "Direct work"}, "learned": {"answer": "Life-story work helped the child."}}
        posted = slack.view_submission("U0QA", opened[0].response["view"], values)
        assert (posted.status, slack.replay(posted).status) == (200, 200)
        with rt.database.unit_of_work() as db:
            assert db.scalar(select(func.count()).select_from(Highlight)) == 1
            assert db.scalar(select(func.count()).select_from(Event).where(Event.kind == "highlight.posted")) == 1
