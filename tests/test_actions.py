"""SMART actions to completion through /slack/events: the owner (or their delegate) marks an action done with a note
or a link to the evidence; the team manager signs it off or reopens it with a reason; the team manager extends it
once, a second extension goes to the Service Manager to approve or refuse, and there is no third. Only those people
may; a double click decides once and the loser is told who decided; an escalation of the overdue action is settled
once it is marked done."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.workflow import escalation
from store.models import Action, ActionExtension, Audit, Escalation, Event, OutboxMessage, Person
from tests.test_audit_form import _walk
from tests.test_disputes import _opened

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
NEXT_MONDAY = datetime(2027, 1, 18, 10, 0, tzinfo=LONDON)
DUE = "2027-01-22"  # a Friday
WHAT = "Share the updated plan with the school."
NOTE = "Shared at the core group on Tuesday; the school has its part."
LINK = "https://records.example/plan/17"
IN_THE_RECORD = "personal details belong in the case record, not in qabot."


def _day(moment):
    return freeze_time(moment, tick=True)


@pytest.fixture
def deputies(rt, world):
    """Priya's, Tom's and Sara's recorded delegates."""
    with rt.database.unit_of_work() as db:
        for holder, (name, slack_id) in {
            "U0PRAC": ("Cora Cover", "U0COVER"),
            "U0TM": ("Dan Deputy", "U0DEP"),
            "U0SM": ("Sol Standin", "U0SMDEP"),
        }.items():
            deputy = Person(name=name, email=f"{slack_id.lower()}@council.example", slack_user_id=slack_id, active=True)
            db.add(deputy)
            db.flush()
            db.scalar(select(Person).where(Person.slack_user_id == holder)).delegate_id = deputy.id


@pytest.fixture
def submitted(rt, slack, standin, audit_id, deputies):
    """Amira submits Priya's audit on Monday 11 January 2027 with one action for Priya, due Friday 22 January."""
    with _day(MONDAY_10):
        view = _walk(slack, standin, audit_id, overall="requires_improvement")
        action = {"action_1": {"answer": WHAT}, "owner_1": {"answer": "U0PRAC"}, "due_1": {"answer": DUE}}
        assert slack.view_submission("U0AUD", view, action).body == ""
        rt.dispatcher.drain()
    return _action(rt).id


def _action(rt) -> Action:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(Action))


def _events(rt, kind):
    with rt.database.unit_of_work() as db:
        return db.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)).all()


def _now(standin, call):
    """A message as it stands now (after any update)."""
    return standin.message(call.response["ts"])


def _buttons(message):
    found = []
    for block in message["blocks"]:
        elements = block.get("elements", []) if block["type"] == "actions" else [block.get("accessory") or {}]
        found += [(e["action_id"], e["value"]) for e in elements if e.get("type") == "button"]
    return found


def _one(standin, user, words):
    [call] = [c for c in standin.posted(user) if words in c.args["text"]]
    return call


def _refusal(standin):
    return standin.responses[-1].body["text"]


def _mark_done(rt, slack, standin, action_id, user="U0PRAC", note=None, link=None):
    view = _opened(slack, standin, user, "action_done_open", action_id)
    values = {}
    if note is not None:
        values["note"] = {"answer": note}
    if link is not None:
        values["link"] = {"answer": link}
    response = slack.view_submission(user, view, values)
    rt.dispatcher.drain()
    return response


def _reopen(rt, slack, standin, action_id, reason, user="U0TM"):
    view = _opened(slack, standin, user, "action_reopen_open", action_id)
    response = slack.view_submission(user, view, {"reason": {"answer": reason}})
    rt.dispatcher.drain()
    return response


def _extend(rt, slack, standin, action_id, day, reason="The school is closed for a week.", user="U0TM"):
    view = _opened(slack, standin, user, "action_extend_open", action_id)
    values = {"to": {"day": day}} | ({"reason": {"answer": reason}} if reason else {})
    response = slack.view_submission(user, view, values)
    rt.dispatcher.drain()
    return response, view


def _click(rt, slack, user, button, value):
    response = slack.block_action(user, button, str(value))
    rt.dispatcher.drain()
    return response


def _due(rt, day):
    return rt.calendar.at(datetime.fromisoformat(day).date(), rt.calendar.end)


# ----- what the owner and the team manager are sent -----------------------------------------------------------------


def test_the_owner_has_mark_done_and_the_team_manager_the_list_with_extend(rt, standin, submitted):
    assigned = _one(standin, "U0PRAC", "An action from the audit of QA-2027-01-001 is yours")
    assert "is yours, due Friday 22 January 2027." in assigned.args["text"]
    assert _buttons(assigned.args) == [("action_done_open", str(submitted))]
    listed = _one(standin, "U0TM", "The actions from the audit of QA-2027-01-001")
    assert "a second extension needs Sara Service (Service Manager) to approve it" in listed.args["text"]
    assert _buttons(listed.args) == [("action_extend_open", str(submitted))]
    assert "Priya Practitioner, due Friday 22 January 2027 — open" in str(listed.args["blocks"])


# ----- marking it done ----------------------------------------------------------------------------------------------


@_day(NEXT_MONDAY)
def test_marked_done_with_a_note_goes_to_the_team_manager_to_sign_off(rt, standin, slack, submitted):
    assert _mark_done(rt, slack, standin, submitted, note=NOTE).body == ""
    action = _action(rt)
    assert (action.status, action.done_note, action.evidence_link) == ("done", NOTE, None)
    asked = _one(standin, "U0TM", "has marked their action")
    assert asked.args["text"] == (
        "Priya Practitioner has marked their action from the audit of QA-2027-01-001 done. "
        "Please sign it off, or reopen it if more is needed."
    )
    assert NOTE in str(asked.args["blocks"])
    assert _buttons(asked.args) == [("action_sign_off", str(submitted)), ("action_reopen_open", str(submitted))]
    # Mark done is gone from the owner's message, which says where it stands; the list offers no Extend now.
    assigned = _now(standin, _one(standin, "U0PRAC", "is yours"))
    assert _buttons(assigned) == []
    assert (
        "Marked done by Priya Practitioner" in assigned["text"] and "waiting for the team manager" in assigned["text"]
    )
    listed = _now(standin, _one(standin, "U0TM", "The actions from the audit"))
    assert _buttons(listed) == [] and "marked done, waiting for your sign-off" in str(listed["blocks"])
    [event] = _events(rt, "action.done")
    assert (event.detail["action_id"], event.detail["note"], event.detail["late"]) == (submitted, NOTE, False)


@_day(NEXT_MONDAY)
def test_marked_done_with_a_link_to_the_evidence(rt, standin, slack, submitted):
    assert _mark_done(rt, slack, standin, submitted, link=LINK).body == ""
    action = _action(rt)
    assert (action.status, action.done_note, action.evidence_link) == ("done", None, LINK)
    asked = _one(standin, "U0TM", "has marked their action")
    assert f"<{LINK}|the evidence>" in str(asked.args["blocks"])


@pytest.mark.parametrize(
    ("note", "link", "errors"),
    [
        (None, None, {"note": "Please say what was done, or give a link to the evidence (or both)."}),
        ("  ", "", {"note": "Please say what was done, or give a link to the evidence (or both)."}),
        (
            NOTE,
            "records.example/plan/17",
            {"link": "Please give a web link that starts with https:// (or http://), with no spaces."},
        ),
        (
            None,
            "javascript:alert(1)",
            {"link": "Please give a web link that starts with https:// (or http://), with no spaces."},
        ),
        (
            None,
            "https://records.example/my plan",
            {"link": "Please give a web link that starts with https:// (or http://), with no spaces."},
        ),
        (
            None,
            "https://someone:secret@records.example/",
            {"link": "Please give a web link that starts with https:// (or http://), with no spaces."},
        ),
        (
            "Rang mum on 07700 900123 to agree it.",
            LINK,
            {"note": "Please remove the phone number (07700 900123): " + IN_THE_RECORD},
        ),
    ],
)
def test_what_marks_it_done_is_checked_on_its_field(rt, standin, slack, submitted, note, link, errors):
    with _day(NEXT_MONDAY):
        response = _mark_done(rt, slack, standin, submitted, note=note, link=link).json()
    assert response == {"response_action": "errors", "errors": errors}
    action = _action(rt)
    assert (action.status, action.done_at, action.done_note, action.evidence_link) == ("open", None, None, None)
    assert [c for c in standin.posted("U0TM") if "has marked" in c.args["text"]] == []
    assert _events(rt, "action.done") == []


# ----- sign-off and reopening ---------------------------------------------------------------------------------------


@_day(NEXT_MONDAY)
def test_the_team_manager_signs_it_off_once(rt, standin, slack, submitted):
    _mark_done(rt, slack, standin, submitted, note=NOTE)
    assert _click(rt, slack, "U0TM", "action_sign_off", submitted).status == 200
    action = _action(rt)
    assert action.status == "signed_off" and action.signed_off_at is not None
    told = _one(standin, "U0PRAC", "has signed off your action")
    assert told.args["text"] == "Tom Teamlead has signed off your action from the audit of QA-2027-01-001."
    asked = _now(standin, _one(standin, "U0TM", "has marked their action"))
    assert _buttons(asked) == [] and "Signed off by Tom Teamlead" in asked["text"]
    assert "Signed off by Tom Teamlead" in _now(standin, _one(standin, "U0PRAC", "is yours"))["text"]
    # A second click (his delegate's, from the same message): refused, told who decided, nothing more recorded.
    _click(rt, slack, "U0DEP", "action_sign_off", submitted)
    assert _refusal(standin).startswith(
        "This action from the audit of QA-2027-01-001 was already signed off by Tom Teamlead ("
    )
    assert len(_events(rt, "action.signed_off")) == 1
    assert len([c for c in standin.posted("U0PRAC") if "signed off your action" in c.args["text"]]) == 1


@_day(NEXT_MONDAY)
def test_reopened_with_a_reason_it_goes_back_to_its_owner(rt, standin, slack, submitted):
    _mark_done(rt, slack, standin, submitted, link=LINK)
    errors = _reopen(rt, slack, standin, submitted, " ").json()["errors"]
    assert errors == {"reason": "Please say what is still needed: its owner is told."}
    errors = _reopen(rt, slack, standin, submitted, "Ask the school (SW1A 1AA) for its part.").json()["errors"]
    assert "postcode (SW1A 1AA)" in errors["reason"]
    assert _action(rt).status == "done"

    assert _reopen(rt, slack, standin, submitted, "The school's part of the plan is still missing.").body == ""
    action = _action(rt)
    assert (action.status, action.done_at, action.evidence_link) == ("open", None, None)
    told = _one(standin, "U0PRAC", "has reopened your action")
    assert "The school's part of the plan is still missing." in str(told.args["blocks"])
    assert _buttons(told.args) == [("action_done_open", str(submitted))]
    asked = _now(standin, _one(standin, "U0TM", "has marked their action"))
    assert _buttons(asked) == [] and "Reopened by Tom Teamlead" in asked["text"]
    assert _buttons(_now(standin, _one(standin, "U0PRAC", "is yours"))) == [("action_done_open", str(submitted))]
    [event] = _events(rt, "action.reopened")
    assert event.detail["reason"] == "The school's part of the plan is still missing."
    # The signed-off button on the old request is refused with who reopened it.
    _click(rt, slack, "U0TM", "action_sign_off", submitted)
    assert "was already reopened by Tom Teamlead" in _refusal(standin)

    # Marked done again, from the reopened message: a new request to sign off, and this time it is.
    assert _mark_done(rt, slack, standin, submitted, note=NOTE).body == ""
    asks = [c for c in standin.posted("U0TM") if "has marked their action" in c.args["text"]]
    assert len(asks) == 2 and _buttons(asks[-1].args)[0] == ("action_sign_off", str(submitted))
    _click(rt, slack, "U0TM", "action_sign_off", submitted)
    assert _action(rt).status == "signed_off"
    assert _buttons(_now(standin, told)) == [] and "Signed off by Tom Teamlead" in _now(standin, told)["text"]


@_day(NEXT_MONDAY)
def test_a_sign_off_racing_a_reopen_decides_once(rt, standin, slack, submitted):
    _mark_done(rt, slack, standin, submitted, note=NOTE)
    view = _opened(slack, standin, "U0DEP", "action_reopen_open", submitted)  # Dan opens the form...
    _click(rt, slack, "U0TM", "action_sign_off", submitted)  # ...Tom signs it off meanwhile
    errors = slack.view_submission("U0DEP", view, {"reason": {"answer": "Not yet."}}).json()["errors"]
    assert errors["reason"].startswith("This action from the audit of QA-2027-01-001 was already signed off by Tom")
    assert _action(rt).status == "signed_off" and _events(rt, "action.reopened") == []


@_day(NEXT_MONDAY)
def test_the_owner_and_their_delegate_marking_it_done_at_once_decide_once(rt, standin, slack, submitted):
    mine = _opened(slack, standin, "U0PRAC", "action_done_open", submitted)
    cover = _opened(slack, standin, "U0COVER", "action_done_open", submitted)
    assert slack.view_submission("U0COVER", cover, {"note": {"answer": NOTE}}).body == ""
    errors = slack.view_submission("U0PRAC", mine, {"link": {"answer": LINK}}).json()["errors"]
    assert errors["note"].startswith("This action from the audit of QA-2027-01-001 was already marked done by Cora")
    rt.dispatcher.drain()
    action = _action(rt)
    assert (action.done_note, action.evidence_link) == (NOTE, None)
    asked = _one(standin, "U0TM", "has marked")
    assert asked.args["text"].startswith("Cora Cover has marked Priya Practitioner's action from the audit")
    assert [e.detail["for_owner"] for e in _events(rt, "action.done")] == ["Priya Practitioner"]


# ----- extensions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reason", "errors"),
    [
        ("2027-01-15", "x", {"to": "Please choose a new due date after today."}),
        ("2027-01-30", "x", {"to": "That is not a working day (a weekend or bank holiday): please choose one."}),
        (
            "2027-02-16",
            "x",
            {
                "to": "Please choose a date by Monday 15 February 2027 (20 working days): SMART actions are due within "
                "four weeks, and a longer delay needs a new plan."
            },
        ),
        ("2027-01-21", "x", {"to": "It is already due Friday 22 January 2027: please choose a later date."}),
        ("2027-01-29", None, {"reason": "Please say why it needs more time."}),
        (
            "2027-01-29",
            "Her number is 07700 900123.",
            {"reason": "Please remove the phone number (07700 900123): " + IN_THE_RECORD},
        ),
    ],
)
def test_an_extension_needs_a_working_day_within_four_weeks_and_a_reason(
    rt, standin, slack, submitted, day, reason, errors
):
    with _day(NEXT_MONDAY):
        response, _ = _extend(rt, slack, standin, submitted, day, reason)
    assert response.json() == {"response_action": "errors", "errors": errors}
    action = _action(rt)
    assert (action.due_at, action.extensions) == (_due(rt, DUE), 0)


@_day(NEXT_MONDAY)
def test_the_team_manager_extends_once(rt, standin, slack, submitted):
    response, view = _extend(rt, slack, standin, submitted, "2027-01-29")
    assert "You can extend it once" in str(view["blocks"]) and view["submit"]["text"] == "Extend"
    assert response.body == ""
    action = _action(rt)
    assert (action.due_at, action.extensions) == (_due(rt, "2027-01-29"), 1)
    with rt.database.unit_of_work() as db:
        [granted] = db.scalars(select(ActionExtension)).all()
        assert (granted.number, granted.status, granted.was_due) == (1, "granted", _due(rt, DUE))
    told = _one(standin, "U0PRAC", "has extended your action")
    assert told.args["text"].startswith(
        "Tom Teamlead has extended your action from the audit of QA-2027-01-001 to Friday 29 January 2027."
    )
    assert "The school is closed for a week." in str(told.args["blocks"])
    assert "is yours, due Friday 29 January 2027." in _now(standin, _one(standin, "U0PRAC", "is yours"))["text"]
    listed = _now(standin, _one(standin, "U0TM", "The actions from the audit"))
    assert "due Friday 29 January 2027 (extended once) — open" in str(listed["blocks"])
    assert _buttons(listed) == [("action_extend_open", str(submitted))]
    [event] = _events(rt, "action.extended")
    assert (event.detail["number"], event.detail["reason"]) == (1, "The school is closed for a week.")


def _second(rt, slack, standin, submitted):
    _extend(rt, slack, standin, submitted, "2027-01-29")
    response, view = _extend(rt, slack, standin, submitted, "2027-02-05", "The family is away until February.")
    assert "goes to Sara Service (Service Manager) to approve" in str(view["blocks"])
    assert view["submit"]["text"] == "Ask for approval"
    assert response.body == ""
    with rt.database.unit_of_work() as db:
        return db.scalar(select(ActionExtension).where(ActionExtension.number == 2))


@_day(NEXT_MONDAY)
def test_a_second_extension_is_approved_by_the_service_manager(rt, standin, slack, submitted):
    asked = _second(rt, slack, standin, submitted)
    assert (asked.status, _action(rt).due_at) == ("requested", _due(rt, "2027-01-29"))
    request = _one(standin, "U0SM", "asks you to approve a second extension")
    assert request.args["text"] == (
        "Tom Teamlead (team manager) asks you to approve a second extension of Priya Practitioner's action from the "
        "audit of QA-2027-01-001: from Friday 29 January 2027 to Friday 5 February 2027."
    )
    assert "The family is away until February." in str(request.args["blocks"])
    assert "The school is closed for a week." in str(request.args["blocks"])  # the first extension's reason
    assert _buttons(request.args) == [
        ("action_extension_approve", str(asked.id)),
        ("action_extension_refuse", str(asked.id)),
    ]
    listed = _now(standin, _one(standin, "U0TM", "The actions from the audit"))
    assert _buttons(listed) == [] and "a second extension is with Sara Service to approve" in str(listed["blocks"])
    # Asking again while it waits is refused.
    _click(rt, slack, "U0TM", "action_extend_open", submitted)
    assert "is already with Sara Service" in _refusal(standin)

    _click(rt, slack, "U0SM", "action_extension_approve", asked.id)
    action = _action(rt)
    assert (action.due_at, action.extensions) == (_due(rt, "2027-02-05"), 2)
    assert "Approved by Sara Service" in _now(standin, request)["text"] and _buttons(_now(standin, request)) == []
    assert (
        _one(standin, "U0TM", "has approved the second extension")
        .args["text"]
        .endswith("it is now due Friday 5 February 2027.")
    )
    assert "Sara Service has extended your action" in _one(standin, "U0PRAC", "to Friday 5 February").args["text"]
    # A second click (her delegate's): told who decided; one decision.
    _click(rt, slack, "U0SMDEP", "action_extension_refuse", asked.id)
    assert "was already approved by Sara Service" in _refusal(standin)
    assert len(_events(rt, "action.extension_approved")) == 1 and _events(rt, "action.extension_refused") == []
    # There is no third.
    _click(rt, slack, "U0TM", "action_extend_open", submitted)
    assert "has been extended twice, and there is no third extension" in _refusal(standin)
    assert _action(rt).extensions == 2


@_day(NEXT_MONDAY)
def test_a_second_extension_refused_by_the_service_manager(rt, standin, slack, submitted):
    asked = _second(rt, slack, standin, submitted)
    _click(rt, slack, "U0SM", "action_extension_refuse", asked.id)
    action = _action(rt)
    assert (action.due_at, action.extensions) == (_due(rt, "2027-01-29"), 1)
    told = _one(standin, "U0TM", "has refused the second extension")
    assert "it stays due Friday 29 January 2027" in told.args["text"]
    assert [c for c in standin.posted("U0PRAC") if "February" in c.args["text"]] == []
    assert "Refused by Sara Service" in _now(standin, _one(standin, "U0SM", "asks you to approve"))["text"]
    # The Service Manager's word stands: asking a third time is refused.
    _click(rt, slack, "U0TM", "action_extend_open", submitted)
    assert "Sara Service refused a second extension" in _refusal(standin)


@_day(NEXT_MONDAY)
def test_a_second_extension_with_no_service_manager_is_refused(rt, standin, slack, submitted):
    _extend(rt, slack, standin, submitted, "2027-01-29")
    with rt.database.unit_of_work() as db:
        db.scalar(select(Person).where(Person.slack_user_id == "U0SM")).active = False
    response, _ = _extend(rt, slack, standin, submitted, "2027-02-05")
    assert "qabot has none for QA-2027-01-001" in response.json()["errors"]["to"]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(ActionExtension).where(ActionExtension.number == 2)) is None


# ----- who may click what -------------------------------------------------------------------------------------------

PEOPLE = ["U0PRAC", "U0COVER", "U0TM", "U0DEP", "U0SM", "U0SMDEP", "U0HOS", "U0AUD", "U0QA"]
ALLOWED = {
    "action_done_open": {"U0PRAC", "U0COVER"},
    "action_sign_off": {"U0TM", "U0DEP", "U0QA"},
    "action_reopen_open": {"U0TM", "U0DEP", "U0QA"},
    "action_extend_open": {"U0TM", "U0DEP"},
    "action_extension_approve": {"U0SM", "U0SMDEP"},
    "action_extension_refuse": {"U0SM", "U0SMDEP"},
}


def _standing(rt, audit_id, button):
    """A fresh action of Priya's, made directly, in the state `button` is offered in; returns its id and the value the
    button carries."""
    with rt.database.unit_of_work() as db:
        priya, tom, sara = (
            db.scalar(select(Person).where(Person.slack_user_id == slack_id)) for slack_id in ("U0PRAC", "U0TM", "U0SM")
        )
        action = Action(
            audit_id=audit_id,
            description=WHAT,
            owner_id=priya.id,
            status="open",
            due_at=_due(rt, DUE),
            created_at=MONDAY_10,
        )
        if button in ("action_sign_off", "action_reopen_open"):
            action.status, action.done_at, action.done_note, action.done_by_id = "done", NEXT_MONDAY, NOTE, priya.id
        db.add(action)
        db.flush()
        if not button.startswith("action_extension_"):
            return action.id, action.id
        action.extensions = 1
        asked = ActionExtension(
            action_id=action.id,
            number=2,
            status="requested",
            was_due=action.due_at,
            to_due=_due(rt, "2027-01-29"),
            reason="The family is away.",
            requested_by_id=tom.id,
            requested_at=NEXT_MONDAY,
            asked_id=sara.id,
        )
        db.add(asked)
        db.flush()
        return action.id, asked.id


def _snapshot(rt, action_id):
    with rt.database.unit_of_work() as db:
        action = db.get(Action, action_id)
        asked = db.scalars(select(ActionExtension.status).where(ActionExtension.action_id == action_id)).all()
        queued = db.scalar(select(func.count()).select_from(OutboxMessage))
        return (action.status, action.due_at, action.extensions, action.signed_off_by_id, tuple(asked), queued)


REFUSED = {
    "action_done_open": "Only Priya Practitioner, whose action this is",
    "action_sign_off": "Only the team manager of QA-2027-01-001 (Tom Teamlead), their delegate or the QA team",
    "action_reopen_open": "Only the team manager of QA-2027-01-001 (Tom Teamlead), their delegate or the QA team",
    "action_extend_open": "Only the team manager of QA-2027-01-001 (Tom Teamlead) or their delegate",
    "action_extension_approve": "This extension of an action from the audit of QA-2027-01-001 was asked of Sara",
    "action_extension_refuse": "This extension of an action from the audit of QA-2027-01-001 was asked of Sara",
}


@pytest.mark.parametrize("button", list(ALLOWED))
@_day(NEXT_MONDAY)
def test_who_may_click_what(rt, standin, slack, audit_id, deputies, button):
    """Each person clicks the button on an action of their own: only those allowed open the form or decide;
    anyone else is refused ephemerally, the attempt is on the trail, and nothing changes or is sent."""
    kind = f"refused.{button.removesuffix('_open')}"
    for user in PEOPLE:
        action_id, value = _standing(rt, audit_id, button)
        before = _snapshot(rt, action_id)
        opened = len([c for c in standin.calls if c.method == "views.open"])
        slack.block_action(user, button, str(value))
        got_form = len([c for c in standin.calls if c.method == "views.open"]) > opened
        allowed = user in ALLOWED[button]
        changed = _snapshot(rt, action_id) != before
        refusals = [e for e in _events(rt, kind) if e.detail.get("action_id") == action_id]
        assert (got_form if button.endswith("_open") else changed) is allowed, user
        if allowed:
            assert refusals == [], user
            continue
        assert not changed, user
        assert standin.responses[-1].body["text"].startswith(REFUSED[button]), user
        [refusal] = refusals
        assert (refusal.actor_slack_id, refusal.subject_type) == (user, "audits")


@_day(NEXT_MONDAY)
def test_a_forged_value_is_refused_and_recorded(rt, standin, slack, audit_id):
    _click(rt, slack, "U0PRAC", "action_done_open", "999")
    assert _refusal(standin).startswith("Sorry, I couldn't find that")
    [refusal] = _events(rt, "refused.action_done")
    assert refusal.detail == {"reason": "unknown", "action_id": 999}


# ----- with no team manager, and with an escalation running ---------------------------------------------------------


@_day(NEXT_MONDAY)
def test_with_no_team_manager_the_qa_team_is_asked_by_reference_only(rt, standin, slack, submitted):
    with rt.database.unit_of_work() as db:
        db.get(Audit, _action(rt).audit_id).team_manager_id = None
    _mark_done(rt, slack, standin, submitted, note=NOTE)
    asked = _one(standin, "C0QATEAM", "was marked done")
    assert asked.args["text"] == (
        "An action from the audit of QA-2027-01-001 was marked done, and the audit has no team manager in qabot to "
        "sign it off. Please sign it off or reopen it."
    )
    assert NOTE not in str(asked.args) and "Priya" not in str(asked.args)
    _click(rt, slack, "U0QA", "action_sign_off", submitted)
    assert _action(rt).status == "signed_off"
    assert "Signed off by Quinn QA" in _now(standin, asked)["text"]


def test_an_escalation_of_the_overdue_action_is_settled_once_it_is_marked_done(rt, standin, slack, submitted):
    # Due Friday 22 January; five working days on, Friday 29 January, the sweep escalates it to Sara.
    with _day(datetime(2027, 1, 29, 9, 0, tzinfo=LONDON)), rt.database.unit_of_work() as db:
        assert escalation.sweep(db, rt.calendar, rt.settings) == 1
    with rt.database.unit_of_work() as db:
        running = db.scalar(select(Escalation))
        assert (running.policy, running.status) == ("overdue_action", "pending")
    with _day(datetime(2027, 2, 1, 10, 0, tzinfo=LONDON)):
        assert _mark_done(rt, slack, standin, submitted, note=NOTE).body == ""
        with rt.database.unit_of_work() as db:
            escalation.sweep(db, rt.calendar, rt.settings)
    with rt.database.unit_of_work() as db:
        settled = db.get(Escalation, running.id)
        assert (settled.status, settled.decision) == ("settled", "settled")
    [event] = _events(rt, "action.done")
    assert event.detail["late"] is True
    assert "after its due date (Friday 22 January 2027)" in _one(standin, "U0TM", "has marked").args["text"]
