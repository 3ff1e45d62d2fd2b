"""A button is acknowledged before its work is done: Slack hears "ok" at once (it waits 3 seconds at most, and a
click's transaction is tens of statements), the work follows in the app's listener threads, and whatever the person
must be told arrives through response_url, as a refusal does. A form is answered once its checks have run (so their
findings show on its fields), before its work. Work that fails leaves nothing written and says so."""

import threading

from sqlalchemy import func, select

from bot.sandbox.requests import SignedSender
from bot.workflow import requests
from store.models import Action, Event, IdempotencyKey
from tests.conftest import SIGNING_SECRET
from tests.test_actions import NEXT_MONDAY, NOTE, _action, _day, _mark_done, _opened, deputies, submitted  # noqa: F401 (fixtures)


def _unsettled(slack, standin) -> SignedSender:
    """A sender that, as Slack, returns as soon as the app answers, without waiting for the work after."""
    return SignedSender(slack.events_url, SIGNING_SECRET, standin)


@_day(NEXT_MONDAY)
def test_a_click_is_answered_before_its_work_and_the_work_follows(rt, standin, slack, submitted, monkeypatch):  # noqa: F811
    _mark_done(rt, slack, standin, submitted, note=NOTE)
    gate = _held(monkeypatch)
    response = _unsettled(slack, standin).block_action("U0TM", "action_sign_off", str(submitted))
    assert (response.status, response.body) == (200, "")
    assert _action(rt).status == "done"  # answered while the sign-off still waits
    assert rt.settle(timeout=0.2) is False
    gate.set()
    assert rt.settle(timeout=10) is True
    assert _action(rt).status == "signed_off"


@_day(NEXT_MONDAY)
def test_a_click_whose_work_fails_is_told_so_and_nothing_is_written(rt, standin, slack, submitted, monkeypatch):  # noqa: F811
    _mark_done(rt, slack, standin, submitted, note=NOTE)
    with rt.database.unit_of_work() as db:
        keys, events = db.scalar(select(func.count(IdempotencyKey.key))), db.scalar(select(func.count(Event.id)))

    def broken(db, key):
        claim(db, key)
        raise RuntimeError("the database went away")

    claim = requests.claim
    monkeypatch.setattr(requests, "claim", broken)
    response = slack.block_action("U0TM", "action_sign_off", str(submitted))
    assert (response.status, response.body) == (200, "")
    told = standin.responses[-1].body
    assert told["response_type"] == "ephemeral"
    assert told["text"].startswith("Something went wrong, so nothing was changed. Please try again")
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(Action.status)) == "done"
        assert db.scalar(select(func.count(IdempotencyKey.key))) == keys
        assert db.scalar(select(func.count(Event.id))) == events

    monkeypatch.setattr(requests, "claim", claim)
    assert slack.block_action("U0TM", "action_sign_off", str(submitted)).status == 200
    assert _action(rt).status == "signed_off"


def _held(monkeypatch) -> threading.Event:
    """Hold every request's work at its claim (a form's checks claim nothing) until the event is set."""
    gate, claim = threading.Event(), requests.claim

    def held(db, key):
        gate.wait(10)
        return claim(db, key)

    monkeypatch.setattr(requests, "claim", held)
    return gate


@_day(NEXT_MONDAY)
def test_a_form_is_answered_after_its_checks_and_before_its_work(rt, standin, slack, submitted, monkeypatch):  # noqa: F811
    view = _opened(slack, standin, "U0PRAC", "action_done_open", submitted)
    gate = _held(monkeypatch)
    sender = _unsettled(slack, standin)
    # A problem on a field is found before the answer, and shown there; nothing is written.
    refused = sender.view_submission("U0PRAC", view, {"note": {"answer": " "}}).json()
    assert refused["response_action"] == "errors" and set(refused["errors"]) == {"note"}
    assert rt.settle(timeout=0.2) is True
    # Checks passed: the form closes at once, and the work follows.
    assert sender.view_submission("U0PRAC", view, {"note": {"answer": NOTE}}).body == ""
    assert _action(rt).status == "open"
    gate.set()
    assert rt.settle(timeout=10) is True
    assert _action(rt).status == "done"


@_day(NEXT_MONDAY)
def test_a_form_whose_work_fails_is_told_so_in_the_dm(rt, standin, slack, submitted, monkeypatch):  # noqa: F811
    view = _opened(slack, standin, "U0PRAC", "action_done_open", submitted)

    def broken(db, key):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(requests, "claim", broken)
    assert slack.view_submission("U0PRAC", view, {"note": {"answer": NOTE}}).body == ""
    told = standin.last("chat.postEphemeral")
    assert told.args["user"] == "U0PRAC"
    assert told.args["text"].startswith("What you sent in the form could not be saved, so nothing was changed")
    assert _action(rt).status == "open"
