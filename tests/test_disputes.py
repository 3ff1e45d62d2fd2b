"""Disputes of a moderated grade, through /slack/events: the practitioner or team manager disputes within the
window, a QA Head of Service upholds, changes (up or down) or first arranges a meeting, and everyone on the audit
hears the decision."""

from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.workflow.directory import add_person
from store.models import Audit, Dispute, OutboxMessage, Person
from tests.test_moderation import LONDON, MONDAY_10, _events, _moderation, _submit, _texts

REASON = "The plan was reviewed at the core group and the impact on the child is evident."
WHY = "The core group minutes show the plan was reviewed and the child is safer."


@pytest.fixture
def moderators(rt, world):
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Mo Derator",
            email="mo@council.example",
            slack_user_id="U0MOD",
            roles=["moderator"],
            team="Quality Assurance",
        )


@pytest.fixture
def head(rt, world):
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Hana Head",
            email="hana@council.example",
            slack_user_id="U0HEAD",
            roles=["qa_head_of_service"],
            team="Quality Assurance",
        )


def _moderated(rt, slack, standin, audit_id, overall):
    """The auditor grades `overall` and the moderator agrees: the audit is moderated."""
    _submit(rt, slack, standin, audit_id, overall=overall)
    slack.block_action("U0MOD", "moderation_open", str(_moderation(rt).id))
    view = [c for c in standin.calls if c.method == "views.open"][-1].response["view"]
    assert slack.view_submission("U0MOD", view, {"mode": {"answer": "reflective"}}).body == ""
    rt.dispatcher.drain()
    return _moderation(rt).id


def _opened(slack, standin, user, action, value):
    before = len([c for c in standin.calls if c.method == "views.open"])
    slack.block_action(user, action, str(value))
    opened = [c for c in standin.calls if c.method == "views.open"]
    return opened[-1].response["view"] if len(opened) > before else None


def _dispute(rt, slack, standin, user, moderation_id, reason=REASON):
    view = _opened(slack, standin, user, "dispute_open", moderation_id)
    response = slack.view_submission(user, view, {"reason": {"answer": reason}})
    rt.dispatcher.drain()
    return response


def _the_dispute(rt) -> Dispute:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(Dispute))


def _status(rt, audit_id):
    with rt.database.unit_of_work() as db:
        return db.get(Audit, audit_id).status


def _buttons(call):
    return [(e["action_id"], e["value"]) for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _change(rt, slack, standin, user, dispute_id, grade, why=WHY):
    view = _opened(slack, standin, user, "dispute_change", dispute_id)
    response = slack.view_submission(user, view, {"grade": {"answer": grade}, "rationale": {"answer": why}})
    rt.dispatcher.drain()
    return response


@freeze_time(MONDAY_10, tick=True)
def test_the_practitioner_and_tm_have_the_button_and_the_qa_head_is_asked(
    rt, standin, slack, audit_id, moderators, head
):
    moderation_id = _moderated(rt, slack, standin, audit_id, "requires_improvement")
    outcomes = {u: [c for c in standin.posted(u) if "moderated, overall" in c.args["text"]] for u in ("U0PRAC", "U0TM")}
    for user, [alert] in outcomes.items():
        assert _buttons(alert) == [("dispute_open", str(moderation_id))], user
    [auditor_alert] = [c for c in standin.posted("U0AUD") if "moderated, overall" in c.args["text"]]
    assert _buttons(auditor_alert) == []

    assert _dispute(rt, slack, standin, "U0PRAC", moderation_id).body == ""
    dispute = _the_dispute(rt)
    assert (dispute.status, dispute.reason) == ("open", REASON)
    assert _status(rt, audit_id) == "disputed"
    [asked] = standin.posted("U0HEAD")
    assert asked.args["text"] == (
        "Priya Practitioner (practitioner) disputes the moderated grade of QA-2027-01-001 (Requires Improvement). "
        "Please uphold it, change it, or arrange a meeting first."
    )
    assert REASON in str(asked.args["blocks"])
    assert _buttons(asked) == [
        ("dispute_uphold", str(dispute.id)),
        ("dispute_change", str(dispute.id)),
        ("dispute_meeting", str(dispute.id)),
    ]
    [event] = _events(rt, "dispute.raised")
    assert (event.detail["role"], event.detail["grade"]) == ("practitioner", "requires_improvement")
    # One open dispute per audit: the team manager's is refused on the field.
    response = _dispute(rt, slack, standin, "U0TM", moderation_id).json()
    assert "already disputed" in response["errors"]["reason"]


@freeze_time(MONDAY_10, tick=True)
def test_after_the_window_the_dispute_is_refused_on_the_field(rt, standin, slack, audit_id, moderators, head):
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    view = _opened(slack, standin, "U0PRAC", "dispute_open", moderation_id)
    # Ten working days from Monday 11 January 2027: until Monday 25 January, 17:30.
    with freeze_time(datetime(2027, 1, 26, 9, 30, tzinfo=LONDON), tick=True):
        response = slack.view_submission("U0PRAC", view, {"reason": {"answer": REASON}}).json()
    assert response["response_action"] == "errors"
    assert "could be disputed until 25 Jan 2027, 17:30" in response["errors"]["reason"]
    assert _the_dispute(rt) is None and _status(rt, audit_id) == "moderated"
    assert standin.posted("U0HEAD") == []
    [event] = _events(rt, "refused.dispute_raise")
    assert event.detail["reason"] == "dispute_too_late"


@freeze_time(MONDAY_10, tick=True)
def test_someone_else_is_refused_and_recorded(rt, standin, slack, audit_id, moderators, head):
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    assert _opened(slack, standin, "U0AUD", "dispute_open", moderation_id) is None
    assert "Only the practitioner or team manager on QA-2027-01-001" in standin.responses[-1].body["text"]
    # A forged submission is refused the same way.
    view = _opened(slack, standin, "U0PRAC", "dispute_open", moderation_id)
    response = slack.view_submission("U0AUD", view, {"reason": {"answer": REASON}}).json()
    assert "Only the practitioner or team manager" in response["errors"]["reason"]
    assert [e.actor_slack_id for e in _events(rt, "refused.dispute_open")] == ["U0AUD"]
    assert [e.actor_slack_id for e in _events(rt, "refused.dispute_raise")] == ["U0AUD"]
    assert _the_dispute(rt) is None


@freeze_time(MONDAY_10, tick=True)
def test_a_postcode_in_the_reason_is_a_field_error(rt, standin, slack, audit_id, moderators, head):
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    response = _dispute(rt, slack, standin, "U0PRAC", moderation_id, reason="We visited at RH12 1AB.").json()
    assert list(response["errors"]) == ["reason"] and "postcode (RH12 1AB)" in response["errors"]["reason"]
    assert _the_dispute(rt) is None and standin.posted("U0HEAD") == []


@freeze_time(MONDAY_10, tick=True)
def test_no_qa_head_tells_the_qa_channel_by_reference_only(rt, standin, slack, audit_id, moderators):
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    assert _dispute(rt, slack, standin, "U0PRAC", moderation_id).body == ""
    [told] = _texts(standin, "C0QATEAM")[-1:]
    assert "QA-2027-01-001" in told and "Good" not in told and REASON not in told
    assert _events(rt, "dispute.no_head")


@freeze_time(MONDAY_10, tick=True)
def test_uphold(rt, standin, slack, audit_id, moderators, head):
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    _dispute(rt, slack, standin, "U0TM", moderation_id)
    dispute = _the_dispute(rt)
    slack.block_action("U0HEAD", "dispute_uphold", str(dispute.id))
    rt.dispatcher.drain()
    dispute = _the_dispute(rt)
    assert (dispute.status, dispute.new_grade) == ("upheld", "good")
    assert _status(rt, audit_id) == "moderated"
    for user in ("U0PRAC", "U0TM", "U0AUD", "U0MOD"):
        assert "QA-2027-01-001: Hana Head (QA Head of Service) has upheld the moderated grade, Good." in _texts(
            standin, user
        ), user
    with rt.database.unit_of_work() as db:
        ts = db.scalar(select(OutboxMessage.ts).where(OutboxMessage.key.like(f"dispute:{dispute.id}:head:%")))
    updated = standin.message(ts)
    assert "stands" in updated["text"] and not [b for b in updated["blocks"] if b["type"] == "actions"]
    [event] = _events(rt, "dispute.upheld")
    assert event.detail["grade"] == "good"


@pytest.mark.parametrize(
    ("auditor_grade", "new", "direction"),
    [("requires_improvement", "good", "upgrade"), ("good", "requires_improvement", "downgrade")],
)
@freeze_time(MONDAY_10, tick=True)
def test_changing_the_grade_up_or_down_is_recorded(
    rt, standin, slack, audit_id, moderators, head, auditor_grade, new, direction
):
    moderation_id = _moderated(rt, slack, standin, audit_id, auditor_grade)
    _dispute(rt, slack, standin, "U0PRAC", moderation_id)
    dispute = _the_dispute(rt)
    # The grade and the rationale are required.
    view = _opened(slack, standin, "U0HEAD", "dispute_change", dispute.id)
    response = slack.view_submission("U0HEAD", view, {"grade": {"answer": auditor_grade}}).json()
    assert set(response["errors"]) == {"grade", "rationale"}
    assert _change(rt, slack, standin, "U0HEAD", dispute.id, new).body == ""
    dispute = _the_dispute(rt)
    assert (dispute.status, dispute.new_grade, dispute.rationale) == ("changed", new, WHY)
    assert _status(rt, audit_id) == "moderated"
    [event] = _events(rt, "dispute.changed")
    assert (event.detail["was"], event.detail["grade"], event.detail["direction"]) == (auditor_grade, new, direction)
    words = {"good": "Good", "requires_improvement": "Requires Improvement"}
    for user in ("U0PRAC", "U0TM", "U0AUD", "U0MOD"):
        [told] = [c for c in standin.posted(user) if "has changed the grade" in c.args["text"]]
        assert f"from {words[auditor_grade]} to {words[new]}" in told.args["text"]
        assert WHY in str(told.args["blocks"])


@freeze_time(MONDAY_10, tick=True)
def test_the_decision_is_final_and_shown_on_the_earlier_messages(rt, standin, slack, audit_id, moderators, head):
    moderation_id = _moderated(rt, slack, standin, audit_id, "requires_improvement")
    _dispute(rt, slack, standin, "U0PRAC", moderation_id)
    _change(rt, slack, standin, "U0HEAD", _the_dispute(rt).id, "good")
    with rt.database.unit_of_work() as db:
        sent = {
            row.key: row.ts
            for row in db.scalars(select(OutboxMessage).where(OutboxMessage.key.like(f"moderation:{moderation_id}:%")))
        }
        ids = {u: db.scalar(select(Person.id).where(Person.slack_user_id == u)) for u in ("U0PRAC", "U0TM", "U0AUD")}
    for user, person_id in ids.items():
        outcome = standin.message(sent[f"moderation:{moderation_id}:outcome:{person_id}"])
        assert outcome["text"].endswith("Disputed: Hana Head (QA Head of Service) changed the overall grade to *Good*.")
        assert "dispute_open" not in str(outcome["blocks"]), user  # no Dispute button any more
    # Raised to Good: the auditor's copy now offers to nominate it as good practice.
    auditors_copy = standin.message(sent[f"moderation:{moderation_id}:outcome:{ids['U0AUD']}"])
    buttons = [e["action_id"] for b in auditors_copy["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["good_practice_open"]
    completed = standin.message(sent[f"moderation:{moderation_id}:submitted:{ids['U0PRAC']}"])
    assert "on dispute the QA Head of Service changed it to Good" in completed["text"]
    # A second dispute (the button still on an old copy, say) is refused on the field: the decision is final.
    view = _opened(slack, standin, "U0TM", "dispute_open", moderation_id)
    assert view is None
    assert "was already decided by Hana Head" in standin.responses[-1].body["text"]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Dispute)) == 1


@freeze_time(MONDAY_10, tick=True)
def test_arrange_a_meeting_then_change(rt, standin, slack, audit_id, moderators, head):
    moderation_id = _moderated(rt, slack, standin, audit_id, "requires_improvement")
    _dispute(rt, slack, standin, "U0PRAC", moderation_id)
    dispute = _the_dispute(rt)
    view = _opened(slack, standin, "U0HEAD", "dispute_meeting", dispute.id)
    options = [o["value"] for b in view["blocks"] if b.get("block_id") == "attending" for o in b["element"]["options"]]
    assert options == ["practitioner", "team_manager", "auditor", "moderator"]
    day = (MONDAY_10 + timedelta(days=2)).date().isoformat()
    values = {
        "when_day": {"day": day},
        "when_time": {"time": "14:00"},
        "attending": {"roles": ["practitioner", "team_manager", "moderator"]},
    }
    assert slack.view_submission("U0HEAD", view, values).body == ""
    rt.dispatcher.drain()
    dispute = _the_dispute(rt)
    assert (dispute.status, dispute.meeting_attendees) == (
        "meeting_arranged",
        ["practitioner", "team_manager", "moderator"],
    )
    assert dispute.meeting_at == datetime(2027, 1, 13, 14, 0, tzinfo=LONDON)
    for user in ("U0PRAC", "U0TM", "U0MOD"):
        assert any("has arranged a meeting" in t and "13 Jan 2027, 14:00" in t for t in _texts(standin, user)), user
    assert not any("has arranged a meeting" in t for t in _texts(standin, "U0AUD"))
    with rt.database.unit_of_work() as db:
        ts = db.scalar(select(OutboxMessage.ts).where(OutboxMessage.key == f"dispute:{dispute.id}:head:{_head_id(db)}"))
    updated = standin.message(ts)
    assert [e["action_id"] for b in updated["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "dispute_uphold",
        "dispute_change",
    ]
    assert _events(rt, "dispute.meeting_arranged")
    assert _change(rt, slack, standin, "U0HEAD", dispute.id, "good").body == ""
    dispute = _the_dispute(rt)
    assert (dispute.status, dispute.new_grade, dispute.meeting_attendees[0]) == ("changed", "good", "practitioner")
    [event] = _events(rt, "dispute.changed")
    assert event.detail["direction"] == "upgrade"


def _head_id(db):
    return db.scalar(select(Person.id).where(Person.slack_user_id == "U0HEAD"))


@freeze_time(MONDAY_10, tick=True)
def test_a_double_click_decides_once_and_the_loser_hears_who_decided(rt, standin, slack, audit_id, moderators, head):
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Hugo Head",
            email="hugo@council.example",
            slack_user_id="U0HEAD2",
            roles=["qa_head_of_service"],
        )
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    _dispute(rt, slack, standin, "U0PRAC", moderation_id)
    dispute = _the_dispute(rt)
    assert standin.posted("U0HEAD") and standin.posted("U0HEAD2")
    slack.block_action("U0HEAD", "dispute_uphold", str(dispute.id))
    slack.block_action("U0HEAD", "dispute_uphold", str(dispute.id))
    assert "already decided by Hana Head" in standin.responses[-1].body["text"]
    slack.block_action("U0HEAD2", "dispute_uphold", str(dispute.id))
    assert "already decided by Hana Head" in standin.responses[-1].body["text"]
    assert _opened(slack, standin, "U0HEAD2", "dispute_change", dispute.id) is None
    rt.dispatcher.drain()
    assert len(_events(rt, "dispute.upheld")) == 1
    assert sum("has upheld" in t for t in _texts(standin, "U0PRAC")) == 1


@freeze_time(MONDAY_10, tick=True)
def test_only_a_qa_head_decides(rt, standin, slack, audit_id, moderators, head):
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    _dispute(rt, slack, standin, "U0PRAC", moderation_id)
    dispute = _the_dispute(rt)
    for user in ("U0PRAC", "U0MOD"):
        slack.block_action(user, "dispute_uphold", str(dispute.id))
        assert (
            "Only a QA Head of Service can decide the dispute on QA-2027-01-001" in standin.responses[-1].body["text"]
        )
    assert _opened(slack, standin, "U0MOD", "dispute_change", dispute.id) is None
    assert [e.actor_slack_id for e in _events(rt, "refused.dispute_uphold")] == ["U0PRAC", "U0MOD"]
    assert [e.actor_slack_id for e in _events(rt, "refused.dispute_change")] == ["U0MOD"]
    assert _the_dispute(rt).status == "open" and _status(rt, audit_id) == "disputed"
