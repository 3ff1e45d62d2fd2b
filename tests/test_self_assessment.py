"""Step 2, the practitioner's self-assessment, end to end through /slack/events: opened from the meeting DM and
from App Home, every field required and checked by the PII guard, stored and editable until the audit is
submitted, the auditor told (never sent the content) and able to read it, reminders when it is missing."""

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.calendar import now
from bot.workflow import allocation, meeting, self_assessment
from bot.workflow.forms import load_form
from scheduler.jobs import tick
from store.models import Audit, Case, Event, OutboxMessage, Person

LONDON = ZoneInfo("Europe/London")
MONDAY_9 = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
FORM = load_form("collaborative")
DOMAINS = [d.id for d in FORM.domains]
REF = "QA-2027-01-001"
LIVED = "Bedtimes are calmer; the child says school feels safer since the move & <3 football."
PROUD = "Getting the child's voice into the plan through their drawings."
DIFFERENTLY = "Involve the school nurse earlier."
SHUT = f"{REF} has been submitted by the auditor, so the self-assessment can no longer be changed."


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _reflection(domain_id: str) -> str:
    return f"What went well in {domain_id}, and what was harder."


def _complete(grade: str = "good") -> dict[str, dict[str, str]]:
    """A complete answer, in view_submission's shape (block_id -> action_id -> value)."""
    values = {}
    for d in FORM.domains:
        values[d.id] = {"answer": grade}
        values[d.rationale_id] = {"answer": _reflection(d.id)}
    values["lived_experience"] = {"answer": LIVED}
    values["proud_of"] = {"answer": PROUD}
    values["do_differently"] = {"answer": DIFFERENTLY}
    return values


def _meeting(rt, world, *, restricted=False) -> int:
    """Priya's case, allocated to and accepted by Amira, meeting on Thursday 7 Jan at 10:00; messages delivered."""
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
        roles = {"practitioner", "team_manager"}
        assert meeting.record(db, rt.calendar, rt.settings, audit_id, "U0AUD", date(2027, 1, 7), time(10), roles, []).ok
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


def _opened(standin) -> int:
    return len([c for c in standin.calls if c.method == "views.open"])


def _open_form(slack, standin, audit_id, user="U0PRAC"):
    """Click "Complete self-assessment" on the meeting message (as `user`); the form opened, or None."""
    message, button = _button(standin, "U0PRAC", "self_assessment_open")
    assert button["value"] == str(audit_id)
    before = _opened(standin)
    if user == "U0PRAC":
        response = slack.block_action(user, "self_assessment_open", button["value"], message=message)
    else:  # someone else has the button value (a forwarded or forged click in their own DM)
        response = slack.block_action(user, "self_assessment_open", button["value"])
    assert response.status == 200
    return standin.last("views.open").response["view"] if _opened(standin) > before else None


def _stored(rt, audit_id):
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        return audit.self_assessment, audit.self_assessed_at, audit.self_assessment_reminder_at


def _events(rt, prefix=""):
    with rt.database.unit_of_work() as db:
        rows = db.scalars(select(Event).where(Event.kind.like(f"{prefix}%")).order_by(Event.id))
        return [(e.kind, e.actor_slack_id, e.detail) for e in rows]


def _sa_events(rt):
    return [(k, a) for k, a, _ in _events(rt) if "self_assess" in k]


def _outbox(rt, template):
    with rt.database.unit_of_work() as db:
        rows = db.scalars(select(OutboxMessage).where(OutboxMessage.template == template).order_by(OutboxMessage.id))
        return [(row.recipient, row.key) for row in rows]


@freeze_time(MONDAY_9, tick=True)
def test_the_practitioner_completes_it_from_the_meeting_message_and_the_auditor_is_told(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    view = _open_form(slack, standin, audit_id)
    assert view["callback_id"] == "self_assessment_form" and view["private_metadata"] == str(audit_id)
    assert view["title"]["text"] == "Self-assessment"
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    # Per domain of the form a grade (the form's scale, in words) and a reflection; then the three questions.
    expected_ids = [i for d in FORM.domains for i in (d.id, d.rationale_id)]
    assert [b["block_id"] for b in inputs] == [*expected_ids, "lived_experience", "proud_of", "do_differently"]
    for d in FORM.domains:
        select_ = next(b for b in inputs if b["block_id"] == d.id)["element"]
        assert select_["type"] == "static_select" and "initial_option" not in select_
        assert [(o["value"], o["text"]["text"]) for o in select_["options"]] == [
            (g.code, g.words) for g in FORM.scale.grades
        ]
    assert "Please complete it by *Wednesday 6 January 2027*" in _json(view)  # the working day before
    assert "Amira Auditor (your auditor) will read it before you meet" in _json(view)

    response = slack.view_submission("U0PRAC", view, _complete())
    assert response.status == 200 and response.body == ""

    saved, at, reminder = _stored(rt, audit_id)
    assert saved["form"] == "collaborative@1" and saved["grade_scale"] == FORM.scale.version
    assert saved["answers"] == (
        {d: "good" for d in DOMAINS}
        | {f"{d}_rationale": _reflection(d) for d in DOMAINS}
        | {"lived_experience": LIVED, "proud_of": PROUD, "do_differently": DIFFERENTLY}
    )
    assert at is not None and datetime.fromisoformat(saved["saved_at"]) == at
    assert reminder is None  # nothing left to remind about
    [(kind, actor, detail)] = _events(rt, "audit.self_assess")
    assert (kind, actor) == ("audit.self_assessed", "U0PRAC")
    assert detail == {"form": "collaborative@1", "grades": {d: "good" for d in DOMAINS}}

    rt.dispatcher.drain()
    told, read_it = _button(standin, "U0AUD", "self_assessment_view")
    assert told["text"] == (
        f"{REF}: Priya Practitioner has completed their self-assessment. "
        "Please read it before your meeting on 7 Jan 2027, 10:00."
    )
    assert read_it["value"] == str(audit_id) and read_it["text"]["text"] == "Read it"
    # The content is never in a message; only the auditor is told.
    posts = [c for c in standin.calls if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")]
    assert not any(LIVED in _json(c.args) or PROUD in _json(c.args) for c in posts)
    assert [to for to, _ in _outbox(rt, "self_assessment_done")] == ["U0AUD"]


@freeze_time(MONDAY_9, tick=True)
def test_each_missing_answer_is_shown_on_its_own_field(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    view = _open_form(slack, standin, audit_id)
    values = _complete()
    del values["assessment"]
    values["partnership_rationale"] = {"answer": "   "}
    values["proud_of"] = {"answer": ""}
    response = slack.view_submission("U0PRAC", view, values)
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "assessment": "Please choose a grade for Assessment.",
            "partnership_rationale": (
                "Please add a few lines on Partnership / multi-agency working: what went well, and what was harder."
            ),
            "proud_of": "Please tell us something you're proud of in this work. It can be small.",
        },
    }
    # An empty form: every field says what it needs, at once.
    errors = slack.view_submission("U0PRAC", view, {}).json()["errors"]
    assert list(errors) == [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert errors["lived_experience"] == (
        "Please describe the child's lived experience: what day-to-day life is like for them."
    )
    assert errors["do_differently"] == "Please say what you would do differently, looking back. Even one thing helps."
    assert _stored(rt, audit_id)[:2] == (None, None)
    assert _sa_events(rt) == [] and _outbox(rt, "self_assessment_done") == []


@freeze_time(MONDAY_9, tick=True)
def test_a_postcode_in_a_reflection_is_refused_on_its_field_and_nothing_is_written(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    view = _open_form(slack, standin, audit_id)
    values = _complete()
    values["planning_rationale"] = {"answer": "Planned visits to the family home at RH12 1AB every week."}
    response = slack.view_submission("U0PRAC", view, values)
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "planning_rationale": (
                "Please remove the postcode (RH12 1AB): personal details belong in the case record, not in qabot."
            )
        },
    }
    # With a missing answer as well, both are shown at once.
    del values["proud_of"]
    errors = slack.view_submission("U0PRAC", view, values).json()["errors"]
    assert set(errors) == {"planning_rationale", "proud_of"} and "postcode" in errors["planning_rationale"]
    assert _stored(rt, audit_id)[:2] == (None, None)
    assert _sa_events(rt) == [] and _outbox(rt, "self_assessment_done") == []


@pytest.mark.parametrize("intruder", ["U0AUD", "U0TM", "U0AUD2"])
@freeze_time(MONDAY_9, tick=True)
def test_only_the_practitioner_may_complete_it(rt, standin, slack, world, intruder):
    audit_id = _meeting(rt, world)
    assert _open_form(slack, standin, audit_id, user=intruder) is None
    [answer] = standin.responses
    assert answer.body["response_type"] == "ephemeral" and answer.body["replace_original"] is False
    assert answer.body["text"] == (
        f"Only the practitioner on {REF} can do this. If you think it should be you, please contact the QA team."
    )
    # Submitting the practitioner's form as someone else (forged) is refused on the form too.
    view = _open_form(slack, standin, audit_id)
    errors = slack.view_submission(intruder, view, _complete()).json()["errors"]
    assert list(errors) == ["assessment"] and errors["assessment"].startswith("Only the practitioner")
    assert _stored(rt, audit_id)[:2] == (None, None) and _outbox(rt, "self_assessment_done") == []
    assert [(k, a) for k, a, _ in _events(rt, "refused.")] == [
        ("refused.self_assessment_open", intruder),
        ("refused.self_assessment_submit", intruder),
    ]


@freeze_time(MONDAY_9, tick=True)
def test_a_forged_audit_id_is_refused(rt, standin, slack, world):
    _meeting(rt, world)
    for value in ("999", "not-a-number"):
        assert slack.block_action("U0PRAC", "self_assessment_open", value).status == 200
    assert [r.body["text"].startswith("Sorry, I couldn't find that audit") for r in standin.responses] == [True, True]
    assert [(k, a) for k, a, _ in _events(rt, "refused.")] == [("refused.self_assessment_open", "U0PRAC")] * 2


@freeze_time(MONDAY_9, tick=True)
def test_the_practitioner_edits_it_later_from_a_prefilled_form(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    slack.view_submission("U0PRAC", _open_form(slack, standin, audit_id), _complete())
    _, first_at, _ = _stored(rt, audit_id)
    rt.dispatcher.drain()

    view = _open_form(slack, standin, audit_id)
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["assessment"]["initial_option"] == {"text": {"type": "plain_text", "text": "Good"}, "value": "good"}
    assert inputs["review_rationale"]["initial_value"] == _reflection("review")
    assert inputs["lived_experience"]["initial_value"] == LIVED  # as typed, not escaped
    # Only one grade and one answer change; everything else goes back as prefilled.
    changed = {"review": {"answer": "requires_improvement"}, "do_differently": {"answer": "Ask for a CRO sooner."}}
    assert slack.view_submission("U0PRAC", view, changed).body == ""

    saved, at, _ = _stored(rt, audit_id)
    assert at == first_at  # when it was first done; saved_at is the latest change
    assert datetime.fromisoformat(saved["saved_at"]) > first_at
    answers = saved["answers"]
    assert (answers["review"], answers["assessment"], answers["lived_experience"]) == (
        "requires_improvement",
        "good",
        LIVED,
    )
    assert answers["do_differently"] == "Ask for a CRO sooner."
    assert _sa_events(rt) == [("audit.self_assessed", "U0PRAC"), ("audit.self_assessment_updated", "U0PRAC")]

    rt.dispatcher.drain()
    told, _ = _button(standin, "U0AUD", "self_assessment_view")
    assert told["text"].startswith(f"{REF}: Priya Practitioner has changed their self-assessment.")
    assert [to for to, _ in _outbox(rt, "self_assessment_done")] == ["U0AUD", "U0AUD"]


@freeze_time(MONDAY_9, tick=True)
def test_not_editable_once_the_audit_is_submitted(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    slack.view_submission("U0PRAC", _open_form(slack, standin, audit_id), _complete())
    stale = _open_form(slack, standin, audit_id)
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        audit.status, audit.submitted_at = "awaiting_moderation", now()
    before = _stored(rt, audit_id)

    assert _open_form(slack, standin, audit_id) is None
    assert standin.responses[-1].body["text"] == SHUT
    response = slack.view_submission("U0PRAC", stale, _complete("outstanding"))
    assert response.json() == {"response_action": "errors", "errors": {"assessment": SHUT}}
    assert _stored(rt, audit_id) == before
    assert _sa_events(rt) == [("audit.self_assessed", "U0PRAC")]
    # Still readable by the people on the audit.
    slack.block_action("U0PRAC", "self_assessment_view", str(audit_id))
    assert LIVED.replace("&", "&amp;").replace("<", "&lt;") in _json(standin.last("views.open").args["view"])


@freeze_time(MONDAY_9, tick=True)
def test_the_read_only_view_is_for_the_people_on_the_audit(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    assert slack.block_action("U0AUD", "self_assessment_view", str(audit_id)).status == 200
    assert standin.responses[-1].body["text"] == (
        f"There is no self-assessment for {REF} yet. The auditor is told as soon as it is done."
    )
    slack.view_submission("U0PRAC", _open_form(slack, standin, audit_id), _complete())
    rt.dispatcher.drain()

    told, read_it = _button(standin, "U0AUD", "self_assessment_view")
    assert slack.block_action("U0AUD", "self_assessment_view", read_it["value"], message=told).status == 200
    shown = standin.last("views.open")
    view = shown.args["view"]
    assert shown.ok and "submit" not in view and "callback_id" not in view
    assert "input" not in [b["type"] for b in view["blocks"]]
    dumped = _json(view)
    assert f"*{REF}* — Priya Practitioner's self-assessment, completed 4 Jan 2027, 09:" in dumped
    assert "*Assessment*: Good\\nWhat went well in assessment" in dumped
    assert "the child says school feels safer since the move &amp; &lt;3 football" in dumped  # escaped
    assert PROUD in dumped and DIFFERENTLY in dumped
    assert _events(rt, "audit.self_assessment_viewed") == [
        ("audit.self_assessment_viewed", "U0AUD", {"roles": ["auditor"]})
    ]
    slack.block_action("U0TM", "self_assessment_view", str(audit_id))
    assert PROUD in _json(standin.last("views.open").args["view"])

    # Oliver (an auditor, not on this audit) is refused, and that is recorded; nothing is opened.
    opened = _opened(standin)
    assert slack.block_action("U0AUD2", "self_assessment_view", str(audit_id)).status == 200
    assert _opened(standin) == opened
    answer = standin.responses[-1]
    assert answer.body["response_type"] == "ephemeral" and answer.body["text"].startswith(f"You're not on {REF}")
    assert [(k, a) for k, a, _ in _events(rt, "refused.")] == [("refused.self_assessment_view", "U0AUD2")]
    assert [a for _, a, _ in _events(rt, "audit.self_assessment_viewed")] == ["U0AUD", "U0TM"]


@freeze_time(MONDAY_9, tick=True)
def test_a_restricted_record_is_shown_only_to_the_practitioner_and_those_granted_access(rt, standin, slack, world):
    audit_id = _meeting(rt, world, restricted=True)
    slack.view_submission("U0PRAC", _open_form(slack, standin, audit_id), _complete())
    opened = _opened(standin)
    slack.block_action("U0AUD", "self_assessment_view", str(audit_id))
    assert _opened(standin) == opened
    assert standin.responses[-1].body["text"] == f"{REF}: restricted — contact the QA team."
    slack.block_action("U0PRAC", "self_assessment_view", str(audit_id))
    assert PROUD in _json(standin.last("views.open").args["view"])
    assert [(k, a) for k, a, _ in _events(rt, "refused.")] == [("refused.self_assessment_view", "U0AUD")]


def _digests(standin):
    return [c for c in standin.posted("U0PRAC") if c.args["text"].startswith("Your reminders for")]


def _reminders(standin):
    """The self-assessment items of the practitioner's digests, as shown."""
    return [
        b["text"]["text"]
        for c in _digests(standin)
        for b in c.args["blocks"]
        if b["type"] == "section" and "self-assessment" in b["text"]["text"]
    ]


def test_a_missing_self_assessment_is_reminded_when_due_and_on_the_day_once_each(rt, standin, world):
    with freeze_time(MONDAY_9, tick=True):
        audit_id = _meeting(rt, world)
    told = len(standin.posted("U0PRAC"))
    # Not yet due on Tuesday; due Wednesday 09:00, the working day before the meeting.
    tick(rt, datetime(2027, 1, 5, 12, 0, tzinfo=LONDON))
    assert _reminders(standin) == []
    wednesday = datetime(2027, 1, 6, 9, 0, tzinfo=LONDON)
    tick(rt, wednesday)
    tick(rt, wednesday)  # twice at one moment: sent once
    # One digest: the self-assessment, and the meeting's own reminder.
    assert len(standin.posted("U0PRAC")) == told + 1
    assert _digests(standin)[-1].args["text"] == "Your reminders for Wednesday 6 January 2027: 2 things need you."
    assert _reminders(standin) == [
        f":memo: *{REF}* — please complete your self-assessment by Wednesday 6 January 2027, "
        "before the audit meeting on 7 Jan 2027, 10:00. It's a grade and a few lines for each area of practice, "
        "and three short questions about the child and your work."
    ]
    message, button = _button(standin, "U0PRAC", "self_assessment_open")
    assert button["value"] == str(audit_id) and message["text"] == _digests(standin)[-1].args["text"]

    # Still missing on the morning of the meeting: one more, then nothing.
    thursday = datetime(2027, 1, 7, 9, 0, tzinfo=LONDON)
    tick(rt, thursday)
    tick(rt, thursday)
    tick(rt, datetime(2027, 1, 8, 9, 0, tzinfo=LONDON))
    assert len(_digests(standin)) == 2
    assert _reminders(standin)[1:] == [
        f":memo: *{REF}* — your self-assessment isn't done yet, and the audit meeting is today (7 Jan 2027, 10:00). "
        "If you can, please complete it before you meet."
    ]
    assert [k for k, _ in _sa_events(rt)] == ["audit.self_assessment_reminded"] * 2
    assert _stored(rt, audit_id)[2] is None


def test_no_reminder_when_it_is_already_done(rt, standin, world):
    with freeze_time(MONDAY_9, tick=True):
        audit_id = _meeting(rt, world)
        with rt.database.unit_of_work() as db:
            assert self_assessment.submit(
                db, rt.calendar, rt.settings, audit_id, "U0PRAC", {k: v["answer"] for k, v in _complete().items()}
            ).ok
    for day in (6, 7):
        tick(rt, datetime(2027, 1, day, 9, 0, tzinfo=LONDON))
    assert _reminders(standin) == [] and _sa_events(rt)[-1][0] == "audit.self_assessed"
    assert len(_digests(standin)) == 1  # the meeting's reminder only


@freeze_time(MONDAY_9, tick=True)
def test_app_home_shows_the_task_and_its_button_opens_the_form(rt, standin, slack, world):
    audit_id = _meeting(rt, world)
    slack.app_home_opened("U0PRAC")
    home = standin.home("U0PRAC")
    [task] = [b for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "self_assessment_open"]
    assert task["text"]["text"] == (
        f"*{REF}* — Complete your self-assessment — by *Wednesday 6 January 2027*, ready for the audit meeting on"
        " 7 Jan 2027, 10:00 with Amira Auditor"
    )
    assert task["accessory"]["value"] == str(audit_id)

    container = {"type": "view", "view_id": home["id"]}
    assert slack.block_action("U0PRAC", "self_assessment_open", str(audit_id), container=container).status == 200
    assert standin.last("views.open").response["view"]["callback_id"] == "self_assessment_form"

    # Done: the task leaves the Home and the audit is watched instead.
    slack.view_submission("U0PRAC", standin.last("views.open").response["view"], _complete())
    slack.app_home_opened("U0PRAC")
    assert "self_assessment_open" not in _json(standin.home("U0PRAC"))

    # A refused click in App Home (no response_url) is answered in the person's DM with the bot.
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).status = "awaiting_moderation"
    assert slack.block_action("U0PRAC", "self_assessment_open", str(audit_id), container=container).status == 200
    refusal = standin.last("chat.postEphemeral")
    assert refusal.ok and refusal.args["channel"] == "DU0PRAC" and refusal.args["user"] == "U0PRAC"
    assert refusal.args["text"] == SHUT
    assert standin.responses == []


@freeze_time(MONDAY_9, tick=True)
def test_app_home_offers_the_auditor_the_meeting_form(rt, standin, slack, world):
    with rt.database.unit_of_work() as db:
        case = db.get(Case, world.case_id)
        audit = allocation.allocate(
            db, rt.calendar, rt.settings, case, db.get(Person, world.people["amira"]), "2027-01"
        )
        audit_id = audit.id
    slack.app_home_opened("U0AUD")
    assert "meeting_open" not in _json(standin.home("U0AUD"))  # an allocation is answered from its DM
    with rt.database.unit_of_work() as db:
        assert allocation.accept(db, rt.calendar, rt.settings, audit_id, "U0AUD").ok
    slack.app_home_opened("U0AUD")
    home = standin.home("U0AUD")
    [task] = [b for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "meeting_open"]
    assert task["accessory"]["value"] == str(audit_id)
    slack.block_action("U0AUD", "meeting_open", str(audit_id), container={"type": "view", "view_id": home["id"]})
    assert standin.last("views.open").response["view"]["callback_id"] == "meeting_form"
