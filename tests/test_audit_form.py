"""Step 4: the audit form step by step through /slack/events, with its draft, field errors, SMART actions,
submission, the Inadequate flag and an immediate safeguarding concern."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.workflow.directory import add_person
from bot.workflow.forms import load_form
from store.models import Action, Audit, Escalation, Event, Person

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
FORM = load_form("collaborative")


def _answers(step, overall="good", concern="no"):
    """Good answers for one step of the shipped form, as the handler reads them from a submission."""
    values = {}
    for q in step.questions:
        if q.kind == "grade":
            values[q.id] = overall if q.role == "overall_grade" else "good"
            values[q.rationale_id] = f"The work on {q.label.lower()} made a difference for the child."
        elif q.kind == "yes_no":
            values[q.id] = concern if q.role == "immediate_concern" else "yes"
        elif q.kind == "choice":
            values[q.id] = q.options[0].value
        elif q.kind == "checkboxes":
            values[q.id] = [q.options[0].value]
        else:
            values[q.id] = "Evident in the direct work recorded."
    return values


def _submission(step, answers):
    """What Slack sends: each block's input in the view state shape, keyed by block id and action id."""
    return {block: {"answer": value} for block, value in answers.items()}


def _open(slack, standin, user="U0AUD", audit=None):
    slack.block_action(user, "audit_form_open", str(audit))
    return standin.last("views.open")


def _walk(slack, standin, audit_id, overall="good", concern="no"):
    """Open the form and submit every step; returns the actions view."""
    view = _open(slack, standin, audit=audit_id).response["view"]
    for step in FORM.steps:
        assert view["title"]["text"] == step.title
        response = slack.view_submission("U0AUD", view, _submission(step, _answers(step, overall, concern))).json()
        assert response["response_action"] == "update", response
        view = response["view"] | {"id": view["id"], "hash": view.get("hash")}
    return view


@freeze_time(MONDAY_10, tick=True)
def test_a_step_with_a_missing_rationale_is_shown_on_its_field(rt, standin, slack, audit_id):
    view = _open(slack, standin, audit=audit_id).response["view"]
    first = FORM.steps[0]
    answers = _answers(first)
    grade = first.questions[0]
    answers[grade.rationale_id] = ""
    response = slack.view_submission("U0AUD", view, _submission(first, answers)).json()
    assert response == {
        "response_action": "errors",
        "errors": {grade.rationale_id: "Please say why you gave this grade."},
    }
    answers[grade.rationale_id] = "Seen at home in RH12 1AB with mum."
    response = slack.view_submission("U0AUD", view, _submission(first, answers)).json()
    assert response["response_action"] == "errors" and "postcode (RH12 1AB)" in response["errors"][grade.rationale_id]
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).draft == {}


@freeze_time(MONDAY_10, tick=True)
def test_the_draft_is_kept_when_the_form_is_closed(rt, standin, slack, audit_id):
    view = _open(slack, standin, audit=audit_id).response["view"]
    first = FORM.steps[0]
    slack.view_submission("U0AUD", view, _submission(first, _answers(first)))
    reopened = _open(slack, standin, audit=audit_id).response["view"]
    select_block = next(b for b in reopened["blocks"] if b.get("block_id") == first.questions[0].id)
    assert select_block["element"]["initial_option"]["value"] == "good"


@freeze_time(MONDAY_10, tick=True)
def test_submission_with_actions_goes_to_moderation_and_tells_everyone(rt, standin, slack, audit_id):
    actions_view = _walk(slack, standin, audit_id, overall="requires_improvement")
    assert actions_view["callback_id"] == "audit_actions"
    too_late = (MONDAY_10 + timedelta(weeks=5)).date().isoformat()
    response = slack.view_submission(
        "U0AUD",
        actions_view,
        {
            "action_1": {"answer": "Update the plan with the school."},
            "owner_1": {"answer": "U0PRAC"},
            "due_1": {"answer": too_late},
        },
    ).json()
    assert response == {
        "response_action": "errors",
        "errors": {
            "due_1": "Actions are due within four weeks: please choose a date no later than Friday 5 February 2027."
        },
    }
    response = slack.view_submission("U0AUD", actions_view, {}).json()
    assert response["errors"] == {"action_1": "A Requires Improvement audit needs at least one SMART action."}
    due = (MONDAY_10 + timedelta(weeks=2)).date().isoformat()
    done = slack.view_submission(
        "U0AUD",
        actions_view,
        {
            "action_1": {"answer": "Update the plan with the school."},
            "owner_1": {"answer": "U0PRAC"},
            "due_1": {"answer": due},
        },
    )
    assert done.status == 200 and done.body == ""
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        assert (audit.status, audit.overall_grade, audit.immediate_concern) == (
            "awaiting_moderation",
            "requires_improvement",
            False,
        )
        assert set(audit.grades) == {q.id for q in FORM.domains} and audit.draft == {}
        [action] = db.scalars(select(Action)).all()
        assert action.owner_id == world_id(db, "U0PRAC") and action.due_at.date() == date.fromisoformat(due)
        assert db.scalar(select(Event.kind).where(Event.kind == "audit.submitted"))
    told = standin.posted("U0PRAC")
    assert any("overall Requires Improvement" in c.args["text"] for c in told)
    assert any("An action from the audit of QA-2027-01-001 is yours" in c.args["text"] for c in told)
    assert any("overall Requires Improvement" in c.args["text"] for c in standin.posted("U0TM"))
    assert standin.posted("C0QATEAM") == []


def world_id(db, slack_id):
    return db.scalar(select(Person.id).where(Person.slack_user_id == slack_id))


@freeze_time(MONDAY_10, tick=True)
def test_inadequate_is_flagged_and_a_concern_alerts_at_once(rt, standin, slack, audit_id):
    with rt.database.unit_of_work() as db:
        add_person(db, name="Ada Safe", email="ada@council.example", slack_user_id="U0ADSG", roles=["ad_safeguarding"])
    actions_view = _walk(slack, standin, audit_id, overall="inadequate", concern="yes")
    due = (MONDAY_10 + timedelta(weeks=1)).date().isoformat()
    slack.view_submission(
        "U0AUD",
        actions_view,
        {"action_1": {"answer": "Strategy discussion today."}, "owner_1": {"answer": "U0TM"}, "due_1": {"answer": due}},
    )
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        kinds = set(db.scalars(select(Event.kind)))
        assert {"audit.inadequate_flagged", "safeguarding.raised"} <= kinds
        assert db.scalar(select(Escalation.policy)) == "safeguarding"
    assert standin.posted("U0ADSG") and standin.posted("C0QATEAM")


@freeze_time(MONDAY_10, tick=True)
def test_only_the_auditor_fills_in_the_form(rt, standin, slack, audit_id):
    assert _open(slack, standin, user="U0PRAC", audit=audit_id) is None
    assert "Only the auditor of QA-2027-01-001 can do this" in standin.responses[-1].body["text"]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(Event.actor_slack_id).where(Event.kind == "refused.audit_form_open")) == "U0PRAC"
        assert db.get(Audit, audit_id).draft == {}


@freeze_time(MONDAY_10, tick=True)
def test_closing_the_form_mid_step_keeps_what_was_typed(rt, standin, slack, audit_id):
    view = _open(slack, standin, audit=audit_id).response["view"]
    assert view["notify_on_close"] is True
    first = FORM.steps[0]
    grade, other = first.questions[0], first.questions[1]
    typed = {
        grade.id: {"answer": "outstanding"},
        grade.rationale_id: {"answer": "Half written so far"},
        other.rationale_id: {"answer": "Met mum at SW1A 1AA"},
    }
    assert slack.view_closed("U0AUD", view, typed).status == 200
    with rt.database.unit_of_work() as db:
        draft = db.get(Audit, audit_id).draft["answers"]
    # Kept unchecked, except what the PII guard refuses, which is never stored.
    assert draft == {grade.id: "outstanding", grade.rationale_id: "Half written so far"}
    reopened = _open(slack, standin, audit=audit_id).response["view"]
    rationale = next(b for b in reopened["blocks"] if b.get("block_id") == grade.rationale_id)
    assert rationale["element"]["initial_value"] == "Half written so far"


@pytest.mark.parametrize(
    ("slot", "error"),
    [
        (
            {"owner_1": {"answer": "U0PRAC"}},
            {"action_1": "Please say what the action is, or clear its owner and date."},
        ),
        ({"action_1": {"answer": "Review the plan."}}, {"owner_1": "Please choose who will do this action."}),
        (
            {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": "U0NOBODY"}},
            {"owner_1": "That person is not in qabot's staff directory. Please choose someone from the council."},
        ),
        (
            {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": "U0PRAC"}},
            {"due_1": "Please choose the date it is due."},
        ),
        (
            {
                "action_1": {"answer": "Review the plan."},
                "owner_1": {"answer": "U0PRAC"},
                "due_1": {"answer": "2027-01-04"},
            },
            {"due_1": "That date has passed. Please choose a date in the next four weeks."},
        ),
        (
            {
                "action_1": {"answer": "Ring 07700 900123 first."},
                "owner_1": {"answer": "U0PRAC"},
                "due_1": {"answer": "2027-01-20"},
            },
            {
                "action_1": "Please remove the phone number (07700 900123): "
                "personal details belong in the case record, not in qabot."
            },
        ),
    ],
)
@freeze_time(MONDAY_10, tick=True)
def test_each_action_problem_is_shown_on_its_field(rt, standin, slack, audit_id, slot, error):
    actions_view = _walk(slack, standin, audit_id)
    assert slack.view_submission("U0AUD", actions_view, slot).json() == {"response_action": "errors", "errors": error}
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "in_progress"


@freeze_time(MONDAY_10, tick=True)
def test_a_concern_alerts_as_soon_as_it_is_saved(rt, standin, slack, audit_id):
    with rt.database.unit_of_work() as db:
        add_person(db, name="Ada Safe", email="ada@council.example", slack_user_id="U0ADSG", roles=["ad_safeguarding"])
    _walk(slack, standin, audit_id, concern="yes")  # the actions are never submitted
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "in_progress"
        assert db.scalar(select(Escalation.policy)) == "safeguarding"
    assert standin.posted("U0ADSG") and standin.posted("C0QATEAM")


@freeze_time(MONDAY_10, tick=True)
def test_two_submissions_at_once_submit_once(rt, standin, slack, audit_id):
    actions_view = _walk(slack, standin, audit_id)
    due = (MONDAY_10 + timedelta(weeks=1)).date().isoformat()
    action = {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": "U0PRAC"}, "due_1": {"answer": due}}
    assert slack.view_submission("U0AUD", actions_view, action).body == ""
    # The same form submitted from a second device: a different view, the same audit.
    second = slack.view_submission("U0AUD", actions_view | {"id": "V0SECOND"}, action).json()
    assert "the audit form can no longer be changed" in second["errors"]["action_1"]
    with rt.database.unit_of_work() as db:
        assert len(db.scalars(select(Action)).all()) == 1
        assert len(db.scalars(select(Event).where(Event.kind == "audit.submitted")).all()) == 1


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (
            {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": "U0QA"}},
            {
                "owner_1": "An action's owner should be the practitioner, their team manager "
                "or a manager in their line, or the auditor."
            },
        ),
        (
            {"action_1": {"answer": "Take CS-100234 to panel."}, "owner_1": {"answer": "U0TM"}},
            {
                "action_1": "Please remove the case ID (CS-100234): personal details belong in the case record, "
                "not in qabot."
            },
        ),
    ],
)
@freeze_time(MONDAY_10, tick=True)
def test_actions_stay_among_the_people_on_the_audit(rt, standin, slack, audit_id, action, error):
    actions_view = _walk(slack, standin, audit_id)
    action["due_1"] = {"answer": (MONDAY_10 + timedelta(weeks=1)).date().isoformat()}
    assert slack.view_submission("U0AUD", actions_view, action).json()["errors"] == error


@freeze_time(MONDAY_10, tick=True)
def test_the_audit_waits_for_the_meeting_and_the_feedback(rt, standin, slack, audit_id):
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).meeting_at = MONDAY_10 + timedelta(days=2)
    actions_view = _walk(slack, standin, audit_id)
    due = (MONDAY_10 + timedelta(weeks=1)).date().isoformat()
    action = {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": "U0PRAC"}, "due_1": {"answer": due}}
    assert (
        "record the meeting first" in slack.view_submission("U0AUD", actions_view, action).json()["errors"]["action_1"]
    )
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        audit.meeting_at, audit.family_feedback = MONDAY_10 - timedelta(days=1), None
    response = slack.view_submission("U0AUD", actions_view | {"id": "V0AGAIN"}, action).json()
    assert "feedback for QA-2027-01-001 first" in response["errors"]["action_1"]


@freeze_time(MONDAY_10, tick=True)
def test_forged_and_malformed_payloads_never_fail_and_change_nothing(rt, standin, slack, audit_id):
    for value in ("²", "١", "99999999999", "-1", "1.0"):
        assert slack.block_action("U0AUD", "audit_form_open", value).status == 200
    assert standin.last("views.open") is None
    view = _open(slack, standin, audit=audit_id).response["view"]
    first = FORM.steps[0]
    sent = slack.view_submission("U0AUD", view, _submission(first, _answers(first))).sent
    # A block arriving as a list instead of an object: not something Slack sends, so a forged request.
    sent["view"]["state"]["values"][first.questions[0].id] = []
    sent["view"]["id"] = "V0MANGLED"
    mangled = slack._post_form(sent)
    assert mangled.status == 200
    # Read as unanswered, so the person is asked for it on that field.
    assert list(mangled.json()["errors"]) == [first.questions[0].id]
    with rt.database.unit_of_work() as db:
        assert set(db.get(Audit, audit_id).draft["answers"]) <= {k for q in first.questions for k in q.answer_ids}
