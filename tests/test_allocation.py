"""The first workflow slice end to end: an allocation DM, the Accept button, the message updated in place,
refusals, double clicks and re-deliveries."""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.calendar import clock_at
from bot.workflow import allocation, auditors
from bot.workflow.directory import add_person
from store import Database
from store.models import Audit, Case, CaseAccess, CaseListEntry, Event, Person

LONDON = ZoneInfo("Europe/London")
MONDAY_9 = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)


def _allocate(rt, world, auditor="amira", restricted=False):
    with rt.database.unit_of_work() as db:
        case = db.get(Case, world.case_id)
        case.restricted = restricted
        auditor = db.get(Person, world.people[auditor])
        audit = allocation.allocate(db, rt.calendar, rt.settings, case, auditor, "2027-01")
        allocation.tell_people_on_the_case(db, [audit], batch=f"test-{audit.id}")
        return audit.id, audit.qa_ref


def _request_message(standin, user="U0AUD"):
    call = standin.posted(user)[0]
    return call, standin.message(call.response["ts"])


def _kinds(rt) -> list[str]:
    with rt.database.unit_of_work() as db:
        return list(db.scalars(select(Event.kind).order_by(Event.id)))


@freeze_time(MONDAY_9)
def test_allocation_tells_the_auditor_and_the_people_on_the_case(rt, standin, world):
    audit_id, ref = _allocate(rt, world)
    assert ref == "QA-2027-01-001"
    result = rt.dispatcher.drain()
    assert result.sent == 4
    call, message = _request_message(standin)
    assert call.response["channel"] == "DU0AUD"
    assert ref in call.args["text"] and "Wednesday 6 January 2027" in call.args["text"]
    dumped = str(message["blocks"])
    assert "https://casesystem.example/person/CS-100234" in dumped
    assert "Conference" in dumped  # a CP case needs a CRO
    assert "due by *Friday 29 January 2027*, the last working day of the month" in dumped
    assert [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "allocation_accept",
        "allocation_decline",
    ]
    # The practitioner, team manager and service manager hear of it, without the case-system id.
    for user in ("U0PRAC", "U0TM", "U0SM"):
        told = standin.posted(user)
        assert len(told) == 1 and ref in told[0].args["text"]
        assert "CS-100234" not in str(told[0].args)
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        assert audit.status == "allocated" and audit.accept_by.isoformat() == "2027-01-06"


@freeze_time(MONDAY_9)
def test_a_restricted_record_shows_only_the_reference(rt, standin, world):
    _, ref = _allocate(rt, world, restricted=True)
    rt.dispatcher.drain()
    call, _ = _request_message(standin)
    dumped = str(call.args)
    assert ref in dumped and "restricted — contact the QA team" in dumped
    for secret in ("CS-100234", "Priya", "Family Support North", "casesystem"):
        assert secret not in dumped


@freeze_time(MONDAY_9)
def test_access_granted_shows_the_record(rt, standin, world):
    with rt.database.unit_of_work() as db:
        db.add(CaseAccess(case_id=world.case_id, person_id=world.people["amira"], granted_at=MONDAY_9))
    _allocate(rt, world, restricted=True)
    rt.dispatcher.drain()
    assert "CS-100234" in str(_request_message(standin)[0].args)


@freeze_time(MONDAY_9, tick=True)
def test_accept_updates_the_message_in_place(rt, standin, slack, world):
    audit_id, ref = _allocate(rt, world)
    rt.dispatcher.drain()
    call, message = _request_message(standin)
    response = slack.block_action(
        "U0AUD", "allocation_accept", str(audit_id), message=message, channel_id=call.response["channel"]
    )
    assert response.status == 200
    rt.dispatcher.drain()
    update = standin.last("chat.update")
    assert update.ok and update.args["ts"] == call.response["ts"] and update.args["channel"] == "DU0AUD"
    now_shown = standin.message(call.response["ts"])
    assert "accepted by Amira Auditor on 4 Jan 2027" in now_shown["text"]
    buttons = [e["action_id"] for b in now_shown["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["meeting_open"]  # Accept / Can't take are gone; the next step is offered
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "accepted"
    assert _kinds(rt) == ["audit.allocated", "audit.accepted"]


@freeze_time(MONDAY_9, tick=True)
def test_a_redelivered_click_acts_once(rt, standin, slack, world):
    audit_id, _ = _allocate(rt, world)
    rt.dispatcher.drain()
    call, message = _request_message(standin)
    for _ in range(2):
        assert (
            slack.block_action(
                "U0AUD", "allocation_accept", str(audit_id), message=message, action_ts="1767517200.000001"
            ).status
            == 200
        )
    rt.dispatcher.drain()
    assert _kinds(rt) == ["audit.allocated", "audit.accepted"]
    assert len([c for c in standin.calls if c.method == "chat.update"]) == 1
    assert standin.responses == []


@freeze_time(MONDAY_9, tick=True)
def test_a_double_click_decides_once_and_says_so(rt, standin, slack, world):
    audit_id, ref = _allocate(rt, world)
    rt.dispatcher.drain()
    _, message = _request_message(standin)
    slack.block_action("U0AUD", "allocation_accept", str(audit_id), message=message)
    slack.block_action("U0AUD", "allocation_accept", str(audit_id), message=message)
    rt.dispatcher.drain()
    assert _kinds(rt) == ["audit.allocated", "audit.accepted"]
    assert len([c for c in standin.calls if c.method == "chat.update"]) == 1
    [answer] = standin.responses
    assert answer.body["response_type"] == "ephemeral" and "already" in answer.body["text"]


@freeze_time(MONDAY_9, tick=True)
def test_only_the_allocated_auditor_may_accept(rt, standin, slack, world):
    audit_id, ref = _allocate(rt, world)
    rt.dispatcher.drain()
    _, message = _request_message(standin)
    assert slack.block_action("U0AUD2", "allocation_accept", str(audit_id), message=message).status == 200
    rt.dispatcher.drain()
    [answer] = standin.responses
    assert answer.body["response_type"] == "ephemeral" and answer.body["replace_original"] is False
    assert "only" in answer.body["text"].lower()
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "allocated"
        refusal = db.scalars(select(Event).where(Event.kind == "refused.allocation_accept")).one()
        assert refusal.actor_slack_id == "U0AUD2"
    assert not [c for c in standin.calls if c.method == "chat.update"]


@freeze_time(MONDAY_9, tick=True)
def test_a_forged_button_value_is_refused(rt, standin, slack, world):
    _allocate(rt, world)
    for value in ("999", "not-a-number"):
        slack.block_action("U0AUD", "allocation_accept", value)
    assert len(standin.responses) == 2
    assert _kinds(rt) == ["audit.allocated", "refused.allocation_accept", "refused.allocation_accept"]


def _open_decline_form(rt, standin, slack, world, user="U0AUD"):
    audit_id, _ = _allocate(rt, world)
    rt.dispatcher.drain()
    _, message = _request_message(standin)
    assert slack.block_action(user, "allocation_decline", str(audit_id), message=message).status == 200
    return audit_id


@freeze_time(MONDAY_9, tick=True)
def test_cant_take_this_one_asks_why_then_tells_the_qa_team(rt, standin, slack, world):
    audit_id = _open_decline_form(rt, standin, slack, world)
    opened = standin.last("views.open")
    assert opened.ok
    form = opened.response["view"]
    empty = slack.view_submission("U0AUD", form, {"reason": {"reason_input": "no"}})
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"reason": "Please say briefly why, so the QA team can reallocate it."},
    }
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "allocated"
    # The corrected form keeps its view id and hash; Slack may also deliver it twice. It acts once.
    for _ in range(2):
        done = slack.view_submission("U0AUD", form, {"reason": {"reason_input": "I supervised this worker last year."}})
        assert done.status == 200 and done.body == ""
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        # Passed back, then reallocated to the other independent auditor, who is asked afresh.
        assert (audit.status, audit.auditor.name) == ("allocated", "Oliver Other")
        event = db.scalars(select(Event).where(Event.kind == "audit.declined")).one()
        assert event.detail == {"reason": "I supervised this worker last year."}
        assert (
            db.scalars(select(Event).where(Event.kind == "audit.reallocated")).one().detail["auditor_id"]
            == (world.people["oliver"])
        )
    [told] = standin.posted("C0QATEAM")
    assert told.args["text"] == "QA-2027-01-001 was passed back by Amira Auditor and is now with Oliver Other."
    assert "supervised" not in str(told.args)
    assert "passed back by Amira Auditor" in standin.last("chat.update").args["text"]
    assert "New audit for you: QA-2027-01-001" in standin.posted("U0AUD2")[0].args["text"]
    # Priya hears the auditor changed, not a second "will be audited".
    assert standin.posted("U0PRAC")[-1].args["text"] == (
        "The auditor has changed for one of your cases audited in January 2027: QA-2027-01-001."
    )


@freeze_time(MONDAY_9, tick=True)
def test_when_nobody_else_can_take_it_the_qa_team_resolves_it(rt, standin, slack, world):
    audit_id = _open_decline_form(rt, standin, slack, world)
    with rt.database.unit_of_work() as db:
        db.get(Person, world.people["oliver"]).active = False
    form = standin.last("views.open").response["view"]
    slack.view_submission("U0AUD", form, {"reason": {"reason_input": "Conflict of interest."}})
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "declined"
        assert db.scalars(select(Event.kind).where(Event.kind == "audit.reallocation_needed")).one()
    [told] = standin.posted("C0QATEAM")
    assert "it needs reallocating by hand" in told.args["text"]


@freeze_time(MONDAY_9, tick=True)
def test_only_the_auditor_can_open_the_decline_form(rt, standin, slack, world):
    audit_id = _open_decline_form(rt, standin, slack, world, user="U0PRAC")
    assert standin.last("views.open") is None
    [answer] = standin.responses
    assert "Only the auditor" in answer.body["text"]
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "allocated"


def _home_text(standin, user) -> str:
    return str(standin.home(user)["blocks"])


@freeze_time(MONDAY_9, tick=True)
def test_app_home_shows_the_auditor_what_is_due_and_the_practitioner_their_audits(rt, standin, slack, world):
    audit_id, ref = _allocate(rt, world)
    slack.app_home_opened("U0AUD")
    assert f"*{ref}* — Accept this audit, or pass it back" in _home_text(standin, "U0AUD")
    assert "Wednesday 6 January 2027" in _home_text(standin, "U0AUD")
    slack.app_home_opened("U0PRAC")
    assert f"*{ref}* — allocated to Amira Auditor, waiting for them to accept" in _home_text(standin, "U0PRAC")
    rt.dispatcher.drain()
    _, message = _request_message(standin)
    slack.block_action("U0AUD", "allocation_accept", str(audit_id), message=message)
    slack.app_home_opened("U0AUD")
    home = _home_text(standin, "U0AUD")
    assert "Arrange the audit meeting with Priya Practitioner and Tom Teamlead" in home
    assert "Friday 29 January 2027" in home  # the last working day of the month
    slack.app_home_opened("U0HOS")
    assert "Nothing is waiting for you right now" in _home_text(standin, "U0HOS")
    slack.app_home_opened("U0STRANGER")
    assert "not in qabot's staff directory" in _home_text(standin, "U0STRANGER")


def test_qabot_restrict_marks_a_record_and_grants_access(rt, standin, world, settings, monkeypatch, capsys):
    from bot import cli

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert cli.main(["restrict", "CS-100234"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "CS-100234 is now restricted.",
        "Nobody has been granted access, so everyone sees only its QA reference.",
        "Its auditor and practitioner see only the reference too unless granted (--grant EMAIL); a practitioner still"
        " reads their own self-assessment, an auditor the family feedback they recorded.",
    ]
    with freeze_time(MONDAY_9):
        _allocate(rt, world, restricted=True)
        rt.dispatcher.drain()
    assert "restricted — contact the QA team" in str(_request_message(standin)[0].args)
    assert cli.main(["restrict", "CS-100234", "--grant", "oliver@council.example"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "CS-100234 is already restricted.",
        "Only these people see more than its QA reference: oliver@council.example.",
        "Newly granted: oliver@council.example.",
    ]
    assert cli.main(["restrict", "CS-100234", "--grant", "oliver@council.example"]) == 0
    assert "Everyone named already had access." in capsys.readouterr().out
    with freeze_time(MONDAY_9):
        _allocate(rt, world, auditor="oliver", restricted=True)
        rt.dispatcher.drain()
    assert "CS-100234" in str(standin.posted("U0AUD2")[0].args)
    assert cli.main(["restrict", "CS-999"]) == 2
    assert "no case CS-999 has been imported" in capsys.readouterr().err
    assert cli.main(["restrict", "CS-100234", "--grant", "nobody@council.example"]) == 2
    with pytest.raises(SystemExit) as usage:
        cli.main(["restrict", "CS-100234", "--lift", "--grant", "tom@council.example"])
    assert usage.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    assert cli.main(["restrict", "CS-100234", "--lift"]) == 0
    assert capsys.readouterr().out == "CS-100234 is no longer restricted: the people on its audits see it again.\n"
    assert cli.main(["restrict", "CS-100234", "--lift"]) == 0
    assert capsys.readouterr().out == "CS-100234 was not restricted; nothing changed.\n"
    with rt.database.unit_of_work() as db:
        kinds = list(db.scalars(select(Event.kind).where(Event.subject_type == "cases").order_by(Event.id)))
    assert kinds == ["case.restricted", "case.access_granted", "case.unrestricted"]


# --- two allocations at once, as from two processes -------------------------------------------------------------


def _after_each_other(monkeypatch, module, name: str, wait: float = 1.5) -> None:
    """Each call of `module.name`, once it returns, waits (up to `wait` s) for the other thread's call to return
    too: two transactions not kept apart by the database both read before either writes. Kept apart, the second
    call returns only once the first transaction has ended, and the first goes on when the wait runs out."""
    original, met = getattr(module, name), threading.Barrier(2)

    def meeting(*args, **kwargs):
        result = original(*args, **kwargs)
        try:
            met.wait(timeout=wait)
        except threading.BrokenBarrierError:
            pass
        return result

    monkeypatch.setattr(module, name, meeting)


def _in_two_processes(rt, *work):
    """Each of `work` in its own transaction on its own engine, as another process would, at once."""
    databases = [Database(rt.settings.database_url) for _ in work]

    def run(database, job):
        with database.unit_of_work() as db:
            return job(db)

    # The clock is fixed here, once for both threads: it is one setting for the whole process.
    try:
        with clock_at(MONDAY_9), ThreadPoolExecutor(len(work)) as pool:
            futures = [pool.submit(run, d, j) for d, j in zip(databases, work, strict=True)]
            return [f.result(timeout=60) for f in futures]
    finally:
        for database in databases:
            database.engine.dispose()


def _second_case(rt, world, ref: str) -> int:
    with rt.database.unit_of_work() as db:
        first = db.get(Case, world.case_id)
        case = Case(case_ref=ref, category="CIN", team=first.team, worker=first.worker, month="2027-01")
        db.add(CaseListEntry(case=case, month="2027-01", category="CIN", team=first.team, worker=first.worker))
        db.flush()
        return case.id


def test_two_allocations_at_once_take_different_qa_references(rt, world, monkeypatch):
    second = _second_case(rt, world, "CS-900002")
    _after_each_other(monkeypatch, allocation, "next_qa_ref")

    def allocate(case_id):
        def job(db):
            auditor = db.get(Person, world.people["amira"])
            return allocation.allocate(db, rt.calendar, rt.settings, db.get(Case, case_id), auditor, "2027-01").qa_ref

        return job

    refs = _in_two_processes(rt, allocate(world.case_id), allocate(second))
    assert sorted(refs) == ["QA-2027-01-001", "QA-2027-01-002"]


def test_two_pass_backs_at_once_never_put_an_auditor_over_the_monthly_maximum(rt, world, monkeypatch):
    settings = replace(rt.settings, framework=replace(rt.settings.framework, auditor_monthly_max=1))
    with rt.database.unit_of_work() as db:
        bea = add_person(
            db,
            name="Bea Spare",
            email="u0aud3@council.example",
            slack_user_id="U0AUD3",
            roles=["auditor"],
            team="Quality Assurance",
        ).id
    second = _second_case(rt, world, "CS-900002")
    with clock_at(MONDAY_9), rt.database.unit_of_work() as db:
        amira, oliver = db.get(Person, world.people["amira"]), db.get(Person, world.people["oliver"])
        first_audit = allocation.allocate(db, rt.calendar, settings, db.get(Case, world.case_id), amira, "2027-01").id
        second_audit = allocation.allocate(db, rt.calendar, settings, db.get(Case, second), oliver, "2027-01").id
    # Each auditor holds one audit, the maximum; Bea has the one free place, and whoever passes back second has the
    # place the first left.
    _after_each_other(monkeypatch, auditors, "pick")

    def pass_back(audit_id, slack_user_id):
        def job(db):
            return allocation.decline(db, rt.calendar, settings, audit_id, slack_user_id, "I know this family.")

        return job

    outcomes = _in_two_processes(rt, pass_back(first_audit, "U0AUD"), pass_back(second_audit, "U0AUD2"))
    assert all(o.ok for o in outcomes), outcomes
    with rt.database.unit_of_work() as db:
        load = auditors.monthly_load(db, "2027-01")
        holders = (db.get(Audit, first_audit).auditor_id, db.get(Audit, second_audit).auditor_id)
    assert max(load.values()) == 1, load
    # Whichever went first took Bea; the other took the place the first auditor left (never their own audit back).
    assert holders in ((bea, world.people["amira"]), (world.people["oliver"], bea))
