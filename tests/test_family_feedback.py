"""Step 3, family feedback, end to end through /slack/events: the auditor records it from the meeting message;
it is stored and shown only to the people on the audit (never in a channel, never in a DM's text); the PII guard
and the form's rules refuse on the right field; anyone else is refused and that is on the trail."""

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.workflow import allocation, meeting
from store.models import Audit, Case, Event, OutboxMessage, Person

LONDON = ZoneInfo("Europe/London")
MONDAY_9 = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
CHILD = "Says the new bedtime routine helps and misses football club on Saturdays."
FAMILY = "Both parents said the plan is clear and the weekly visits help."
REASON_NEEDED = (
    "Please say why the feedback could not be obtained (for example, the family declined or could not be reached)."
)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _meeting(rt, world, *, restricted=False) -> int:
    """An audit of Priya's case, allocated to and accepted by Amira, its meeting recorded; messages delivered."""
    with rt.database.unit_of_work() as db:
        case = db.get(Case, world.case_id)
        case.restricted = restricted
        audit = allocation.allocate(
            db, rt.calendar, rt.settings, case, db.get(Person, world.people["amira"]), "2027-01"
        )
        audit_id = audit.id
    with rt.database.unit_of_work() as db:
        assert allocation.accept(db, rt.calendar, rt.settings, audit_id, "U0AUD").ok
    with rt.database.unit_of_work() as db:
        roles = {"practitioner", "team_manager", "cro"}
        assert meeting.record(db, rt.calendar, rt.settings, audit_id, "U0AUD", date(2027, 1, 6), time(10), roles, []).ok
    rt.dispatcher.drain()
    return audit_id


def _button(standin, user, action_id):
    """The latest message to `user` carrying the button `action_id`, and that button."""
    for call in reversed(standin.posted(user)):
        message = standin.message(call.response["ts"])
        for block in message["blocks"]:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if element["action_id"] == action_id:
                    return message, element
    raise AssertionError(f"no message to {user} has a {action_id} button")


def _open_form(slack, standin, user="U0AUD"):
    message, button = _button(standin, "U0AUD", "family_feedback_open")
    before = len([c for c in standin.calls if c.method == "views.open"])
    response = slack.block_action(user, "family_feedback_open", button["value"], message=message)
    assert response.status == 200
    opened = [c for c in standin.calls if c.method == "views.open"]
    return opened[-1].response["view"] if len(opened) > before else None


def _submit(slack, view, user="U0AUD", **fields):
    """Submit the form; fields: how=…, and reason / child_voice / family_view = the typed text."""
    values = {name: {"text": text} for name, text in fields.items() if name != "how"}
    if "how" in fields:
        values["how"] = {"choice": fields["how"]}
    return slack.view_submission(user, view, values)


def _feedback(rt, audit_id):
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        return audit.family_feedback, audit.feedback_at


def _events(rt, prefix=""):
    with rt.database.unit_of_work() as db:
        rows = db.scalars(select(Event).where(Event.kind.like(f"{prefix}%")).order_by(Event.id))
        return [(e.kind, e.actor_slack_id, e.detail) for e in rows]


def _feedback_events(rt):
    return [e for e in _events(rt) if "family_feedback" in e[0]]


def _dms_about_feedback(rt):
    with rt.database.unit_of_work() as db:
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.template == "family_feedback_recorded"))
        return sorted(row.recipient for row in rows)


@freeze_time(MONDAY_9, tick=True)
def test_the_auditor_records_feedback_and_only_the_audit_hears_of_it(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    message, button = _button(standin, "U0AUD", "family_feedback_open")
    assert button["value"] == str(audit_id) and button["text"]["text"] == "Record family feedback"

    view = _open_form(slack, standin)
    assert view["callback_id"] == "family_feedback_form" and view["private_metadata"] == str(audit_id)
    assert "don't write names" in _json(view)
    response = _submit(slack, view, how="visit", child_voice=CHILD, family_view=FAMILY)
    assert response.status == 200 and response.body == ""

    saved, at = _feedback(rt, audit_id)
    assert saved == {
        "how": "visit",
        "reason": None,
        "child_voice": CHILD,
        "family_view": FAMILY,
        "recorded_by": world.people["amira"],
    }
    assert at is not None
    # The trail says it was recorded and how; it never holds the feedback.
    [(kind, actor, detail)] = _feedback_events(rt)
    assert (kind, actor, detail) == ("audit.family_feedback_recorded", "U0AUD", {"how": "visit"})
    assert CHILD not in _json([e[2] for e in _events(rt)])

    rt.dispatcher.drain()
    for user in ("U0PRAC", "U0TM"):
        told, read_it = _button(standin, user, "family_feedback_view")
        assert told["text"] == "Amira Auditor has recorded the child's and family's feedback for QA-2027-01-001."
        assert read_it["value"] == str(audit_id) and read_it["text"]["text"] == "Read it"
    assert _dms_about_feedback(rt) == ["U0PRAC", "U0TM"]
    # Never in a channel; never the words in any message at all.
    assert standin.posted("C0QATEAM") == []
    posts = [c for c in standin.calls if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")]
    assert posts and not any(CHILD in _json(c.args) or FAMILY in _json(c.args) for c in posts)


@freeze_time(MONDAY_9, tick=True)
def test_not_obtained_needs_a_reason_and_then_nothing_else(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    view = _open_form(slack, standin)
    response = _submit(slack, view, how="not_obtained", reason="   ")
    assert response.json() == {"response_action": "errors", "errors": {"reason": REASON_NEEDED}}
    assert _feedback(rt, audit_id) == (None, None) and _feedback_events(rt) == []

    response = _submit(slack, view, how="not_obtained", reason="The family declined to take part.")
    assert response.status == 200 and response.body == ""
    saved, _ = _feedback(rt, audit_id)
    assert saved["how"] == "not_obtained" and saved["reason"] == "The family declined to take part."
    assert (saved["child_voice"], saved["family_view"]) == (None, None)
    assert _feedback_events(rt)[0][2] == {"how": "not_obtained"}


@freeze_time(MONDAY_9, tick=True)
def test_obtained_feedback_needs_the_childs_voice_and_the_familys_view(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    view = _open_form(slack, standin)
    assert list(_submit(slack, view, how="phone", family_view=FAMILY).json()["errors"]) == ["child_voice"]
    assert list(_submit(slack, view, how="phone", child_voice=CHILD).json()["errors"]) == ["family_view"]
    assert _submit(slack, view, child_voice=CHILD, family_view=FAMILY).json() == {
        "response_action": "errors",
        "errors": {"how": "Please choose how the feedback was obtained."},
    }
    too_long = _submit(slack, view, how="phone", child_voice="x" * 3001, family_view=FAMILY).json()
    assert too_long["errors"] == {
        "child_voice": "This is 3001 characters; please keep it to 3000. "
        "The case record is the place for the full account."
    }
    assert _feedback(rt, audit_id) == (None, None) and _feedback_events(rt) == []


@freeze_time(MONDAY_9, tick=True)
def test_a_phone_number_is_refused_on_its_field_and_nothing_is_written(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    view = _open_form(slack, standin)
    family_view = "Mum asked to be called on 07700 900123 before the next visit."
    response = _submit(slack, view, how="visit", child_voice=CHILD, family_view=family_view)
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "family_view": "Please remove the phone number (07700 900123): personal details belong in the case "
            "record, not in qabot."
        },
    }
    assert _feedback(rt, audit_id) == (None, None)
    assert _feedback_events(rt) == [] and _dms_about_feedback(rt) == []


@pytest.mark.parametrize("intruder", ["U0PRAC", "U0AUD2"])
@freeze_time(MONDAY_9, tick=True)
def test_only_the_allocated_auditor_may_record_it(rt, standin, slack, world, intruder):
    audit_id = _meeting(rt, world)
    assert _open_form(slack, standin, user=intruder) is None  # no form opened for them
    [answer] = standin.responses
    assert answer.body["response_type"] == "ephemeral"
    assert answer.body["text"] == (
        "Only the auditor allocated to QA-2027-01-001 records the child's and family's feedback. "
        "If you think it should be you, please contact the QA team."
    )
    # A submission of the auditor's form by someone else (forged) is refused too.
    view = _open_form(slack, standin)
    response = _submit(slack, view, user=intruder, how="visit", child_voice=CHILD, family_view=FAMILY)
    assert list(response.json()["errors"]) == ["how"] and "Only the auditor" in response.json()["errors"]["how"]
    assert _feedback(rt, audit_id) == (None, None) and _dms_about_feedback(rt) == []
    assert [(kind, actor) for kind, actor, _ in _events(rt, "refused.")] == [
        ("refused.family_feedback_open", intruder),
        ("refused.family_feedback_record", intruder),
    ]


@freeze_time(MONDAY_9, tick=True)
def test_the_read_only_view_is_for_the_people_on_the_audit(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    _submit(slack, _open_form(slack, standin), how="mind_of_my_own", child_voice=CHILD, family_view=FAMILY)
    rt.dispatcher.drain()

    told, read_it = _button(standin, "U0TM", "family_feedback_view")
    assert slack.block_action("U0TM", "family_feedback_view", read_it["value"], message=told).status == 200
    shown = standin.last("views.open")
    assert shown.ok and shown.args["view"].get("callback_id") in (None, "")
    dumped = _json(shown.args["view"])
    assert CHILD in dumped and FAMILY in dumped and "through Mind of My Own" in dumped
    assert "input" not in [b["type"] for b in shown.args["view"]["blocks"]] and "submit" not in shown.args["view"]
    assert _events(rt, "audit.family_feedback_viewed") == [
        ("audit.family_feedback_viewed", "U0TM", {"roles": ["team_manager"], "restricted": False})
    ]

    # Quinn (QA team, not on this audit) is refused, and that is recorded; nothing is opened.
    opened = len([c for c in standin.calls if c.method == "views.open"])
    assert slack.block_action("U0QA", "family_feedback_view", str(audit_id)).status == 200
    assert len([c for c in standin.calls if c.method == "views.open"]) == opened
    [answer] = standin.responses
    assert answer.body["response_type"] == "ephemeral"
    assert answer.body["text"].startswith("You're not on QA-2027-01-001")
    assert [(k, a) for k, a, _ in _events(rt, "refused.")] == [("refused.family_feedback_view", "U0QA")]
    assert len(_events(rt, "audit.family_feedback_viewed")) == 1


@freeze_time(MONDAY_9, tick=True)
def test_a_restricted_record_shows_only_its_reference_to_those_without_access(rt, standin, slack, world):
    audit_id = _meeting(rt, world, restricted=True)
    _submit(slack, _open_form(slack, standin), how="visit", child_voice=CHILD, family_view=FAMILY)
    slack.block_action("U0PRAC", "family_feedback_view", str(audit_id))
    dumped = _json(standin.last("views.open").args["view"])
    assert "QA-2027-01-001" in dumped and "restricted — contact the QA team" in dumped and CHILD not in dumped
    slack.block_action("U0AUD", "family_feedback_view", str(audit_id))  # the auditor wrote it
    assert CHILD in _json(standin.last("views.open").args["view"])


@freeze_time(MONDAY_9, tick=True)
def test_the_auditor_edits_it_later_from_a_prefilled_form(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    typed = "Likes school & <3 the new carer; wants *more* time with gran."
    _submit(slack, _open_form(slack, standin), how="visit", child_voice=typed, family_view=FAMILY)
    rt.dispatcher.drain()

    view = _open_form(slack, standin)
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["how"]["initial_option"]["value"] == "visit"
    assert inputs["family_view"]["initial_value"] == FAMILY and "initial_value" not in inputs["reason"]
    assert inputs["child_voice"]["initial_value"] == typed  # shown back as typed, "&" and "<" included
    # Only the family's view changes; the child's voice goes back as prefilled and is stored as typed.
    assert _submit(slack, view, family_view="Dad now feels listened to.").status == 200
    saved, _ = _feedback(rt, audit_id)
    assert (saved["how"], saved["child_voice"], saved["family_view"]) == ("visit", typed, "Dad now feels listened to.")
    assert [(k, d) for k, _, d in _feedback_events(rt) if k != "audit.family_feedback_viewed"] == [
        ("audit.family_feedback_recorded", {"how": "visit"}),
        ("audit.family_feedback_updated", {"how": "visit"}),
    ]
    assert ("audit.family_feedback_viewed", "U0AUD", {"roles": ["auditor"], "via": "form"}) in _events(rt)

    rt.dispatcher.drain()
    told, _ = _button(standin, "U0PRAC", "family_feedback_view")
    assert told["text"] == "Amira Auditor has updated the child's and family's feedback for QA-2027-01-001."
    assert _dms_about_feedback(rt) == ["U0PRAC", "U0PRAC", "U0TM", "U0TM"]
    assert standin.posted("C0QATEAM") == []


@freeze_time(MONDAY_9, tick=True)
def test_not_editable_once_the_audit_is_submitted(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    view = _open_form(slack, standin)
    _submit(slack, view, how="phone", child_voice=CHILD, family_view=FAMILY)
    stale = _open_form(slack, standin)
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).status = "awaiting_moderation"
    before = _feedback(rt, audit_id)
    closed = "QA-2027-01-001 is awaiting moderation: the family's feedback can no longer be changed."

    assert _open_form(slack, standin) is None
    assert standin.responses[-1].body["text"] == closed
    response = _submit(slack, stale, how="visit", child_voice="Changed.", family_view="Changed.")
    assert response.json() == {"response_action": "errors", "errors": {"how": closed}}
    assert _feedback(rt, audit_id) == before
    assert "audit.family_feedback_updated" not in [k for k, _, _ in _events(rt)]

    # Still readable by the people on the audit.
    slack.block_action("U0TM", "family_feedback_view", str(audit_id))
    assert CHILD in _json(standin.last("views.open").args["view"])
