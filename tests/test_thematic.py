"""Thematic audits through /slack/events: the QA team defines a theme (field errors for what is wrong), its sample
is drawn by a filter or hand-picked and allocated to independent auditors, who complete the theme's own form
(grade, yes/no and text answers; the PII guard; SMART actions tracked like any other); the lead gets the findings
and writes the overview report; the sponsor signs it off once. Only the right people may do each."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.workflow import allocation_run, thematic
from bot.workflow.directory import add_person
from bot.workflow.forms import FormError, questions_form
from scheduler.jobs import tick
from store.models import Action, Audit, Case, Event, LoopCheck, Person, Recommendation, Theme
from tests.test_disputes import _opened

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
QUESTIONS = (
    "grade: How well is the child's lived experience understood?\n"
    "yes/no: Is the child's plan up to date?\n"
    "text: What would have made the most difference?"
)


def _open_define(slack, standin, user="U0QA"):
    before = len([c for c in standin.calls if c.method == "views.open"])
    assert slack.command(user, "/qa", "theme").status == 200
    opened = [c for c in standin.calls if c.method == "views.open"]
    return opened[-1].response["view"] if len(opened) > before else None


def _values(**changes):
    values = {
        "title": "Neglect: is the child's lived experience understood?",
        "trigger": "ofsted",
        "sponsor": "U0HOS",
        "picked": "CS-100234\nCS-100871",
        "questions": QUESTIONS,
        "audits_by": "2027-01-29",
        "report_by": "2027-02-12",
    } | changes
    return {block: {"answer": value} for block, value in values.items() if value is not None}


def _define(rt, slack, standin, **changes):
    view = _open_define(slack, standin)
    response = slack.view_submission("U0QA", view, _values(**changes))
    rt.dispatcher.drain()
    return response


def _theme(rt) -> Theme:
    with rt.database.unit_of_work() as db:
        theme = db.scalar(select(Theme).order_by(Theme.id.desc()))
        db.expunge_all()
        return theme


def _audits(rt) -> list[tuple[int, str, str]]:
    """Each thematic audit: id, case reference, auditor's Slack id."""
    with rt.database.unit_of_work() as db:
        rows = db.execute(
            select(Audit.id, Case.case_ref, Person.slack_user_id)
            .join(Case, Case.id == Audit.case_id)
            .join(Person, Person.id == Audit.auditor_id)
            .where(Audit.kind == "thematic")
            .order_by(Case.case_ref)
        ).all()
        return [tuple(r) for r in rows]


def _complete(rt, slack, standin, audit_id, auditor, grade="good", plan="yes", text="Earlier help.", actions=None):
    """Accept the allocation, then answer the theme's form and submit it (with `actions`: block -> value)."""
    slack.block_action(auditor, "allocation_accept", str(audit_id))
    view = _opened(slack, standin, auditor, "audit_form_open", audit_id)
    answers = {
        "q1": {"answer": grade},
        "q1_rationale": {"answer": "The child's words shape the plan."},
        "q2": {"answer": plan},
        "q3": {"answer": text},
    }
    response = slack.view_submission(auditor, view, answers).json()
    if response["response_action"] == "errors":
        return response
    actions_view = response["view"] | {"id": view["id"]}
    submitted = slack.view_submission(auditor, actions_view, actions or {})
    rt.dispatcher.drain()
    return submitted


@pytest.fixture
def nina(rt, world):
    """An auditor in Priya's own team: never to audit Priya's cases."""
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Nina Nearby",
            email="nina@council.example",
            slack_user_id="U0NINA",
            roles=["auditor", "practitioner"],
            team="Family Support North",
            manager_email="tom@council.example",
        )
    return world


@freeze_time(MONDAY, tick=True)
def test_only_the_qa_team_may_define_a_theme(rt, standin, slack, world):
    assert _open_define(slack, standin, user="U0HOS") is None
    assert "Only the QA team can define a thematic audit" in standin.responses[-1].body["text"]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(Event).where(Event.kind == "refused.theme_define")).actor_slack_id == "U0HOS"
    # Submitting the form anyway (a forged submission) is refused on the form, and nothing is written.
    view = _open_define(slack, standin)
    response = slack.view_submission("U0HOS", view, _values()).json()
    assert "Only the QA team" in response["errors"]["title"]
    assert _theme(rt) is None


@freeze_time(MONDAY, tick=True)
def test_what_is_wrong_is_said_on_each_field_and_nothing_is_written(rt, standin, slack, world):
    response = _define(
        rt,
        slack,
        standin,
        sponsor="U0SM",
        picked="CS-100234\nCS-999\nCS-998",
        questions="grade: How well is the plan written?\nhow: Is it current?",
        audits_by="2027-01-30",  # a Saturday
        report_by="2027-01-29",
    ).json()
    assert response["response_action"] == "errors"
    assert response["errors"] == {
        "sponsor": "The sponsor must be a Head of Service in qabot's staff directory.",
        "picked": "These case-system IDs are not on any imported case list: CS-999, CS-998.",
        "questions": "Line 2 (“how: Is it current?”) must start with grade:, yes/no: or text:.",
        "audits_by": "That is not a working day (a weekend or bank holiday). Please choose another.",
        "report_by": "The overview report comes after the audits: please choose a later date than the audits' "
        "deadline.",
    }
    response = _define(rt, slack, standin, picked=None, month="2026-12", questions="").json()
    assert response["errors"]["month"].startswith("Please give the month of an imported case list as YYYY-MM")
    assert response["errors"]["questions"].startswith("Please write at least one question")
    response = _define(rt, slack, standin, picked=None, month="2027-01", size="0").json()
    assert response["errors"] == {"size": "Please say how many cases to sample, from 1 to 30."}
    # The PII guard reads the questions: a case-system ID is refused.
    response = _define(rt, slack, standin, questions="yes/no: Was CS-100234 seen alone?").json()
    assert "CS-100234" in response["errors"]["questions"]
    assert _theme(rt) is None and _audits(rt) == []


@freeze_time(MONDAY, tick=True)
def test_a_sample_by_filter_goes_to_independent_auditors(rt, standin, slack, nina):
    assert _define(rt, slack, standin, picked=None, month="2027-01", categories=["CP", "CLA"], size="2").body == ""
    theme = _theme(rt)
    assert theme.ref == "TH-2027-01" and theme.status == "auditing" and theme.sample["categories"] == ["CP", "CLA"]
    audits = _audits(rt)
    # Both CP and CLA cases (the CIN case is not in the filter), never to Nina, who is in Priya's team.
    assert [ref for _, ref, _ in audits] == ["CS-100234", "CS-100512"]
    assert {auditor for _, _, auditor in audits} == {"U0AUD", "U0AUD2"}
    with rt.database.unit_of_work() as db:
        for audit in db.scalars(select(Audit)):
            assert (audit.kind, audit.theme_id, audit.status) == ("thematic", theme.id, "allocated")
            assert audit.due_at == rt.calendar.at(date(2027, 1, 29), rt.calendar.end)
    [asked] = standin.posted("U0AUD")
    assert "This is a thematic audit: Neglect" in asked.args["text"]
    assert [e["action_id"] for b in asked.args["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "allocation_accept",
        "allocation_decline",
    ]
    [lead] = standin.posted("U0QA")
    assert lead.args["text"].startswith("Thematic audit TH-2027-01 is started")
    assert "2 cases were allocated to auditors" in lead.args["text"]
    [sponsor] = standin.posted("U0HOS")
    assert sponsor.args["text"].startswith("You are the sponsor of the thematic audit TH-2027-01")
    # Nobody on the case is asked to meet: no allocation notice to Priya.
    assert standin.posted("U0PRAC") == []


@freeze_time(MONDAY, tick=True)
def test_hand_picked_cases_are_the_sample(rt, standin, slack, world):
    assert _define(rt, slack, standin, picked="CS-100512\nCS-100871").body == ""
    assert [ref for _, ref, _ in _audits(rt)] == ["CS-100512", "CS-100871"]
    assert _theme(rt).sample == {"picked": ["CS-100512", "CS-100871"]}


@freeze_time(MONDAY, tick=True)
def test_audits_completed_then_reported_and_signed_off_once(rt, standin, slack, world):
    assert _define(rt, slack, standin).body == ""
    theme = _theme(rt)
    (first, _, first_auditor), (second, _, second_auditor) = _audits(rt)

    # Only the auditor opens the form; it asks the theme's own questions.
    assert _opened(slack, standin, "U0PRAC", "audit_form_open", first) is None
    slack.block_action(first_auditor, "allocation_accept", str(first))
    view = _opened(slack, standin, first_auditor, "audit_form_open", first)
    assert view["title"]["text"] == "Thematic audit"
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[0] == "How well is the child's lived experience understood?"
    assert labels[2:] == ["Is the child's plan up to date?", "What would have made the most difference?"]

    # A text answer with a postcode is refused on its field.
    response = _complete(rt, slack, standin, first, first_auditor, text="Seen at RH12 1AB.")
    assert response["response_action"] == "errors" and "postcode (RH12 1AB)" in response["errors"]["q3"]
    due = (MONDAY.date() + timedelta(days=14)).isoformat()
    action = {"action_1": {"answer": "Record the child's words."}, "owner_1": {"answer": "U0PRAC"}}
    action |= {"due_1": {"answer": due}}
    assert _complete(rt, slack, standin, first, first_auditor, actions=action).body == ""
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, first)
        assert audit.status == "complete" and audit.answers["q2"] == "yes" and audit.grades["q1"]["grade"] == "good"
        [tracked] = db.scalars(select(Action)).all()
        assert (tracked.audit_id, tracked.status, tracked.next_reminder_at is not None) == (first, "open", True)
    # The action goes to its owner like any other; the auditor hears it counts towards the theme.
    [assigned] = [c for c in standin.posted("U0PRAC") if c.args["text"].startswith("An action from the audit of")]
    assert "Mark done" in str(assigned.args["blocks"])
    assert "counts towards the thematic audit" in standin.posted(first_auditor)[-1].args["text"]
    # The lead has no findings until every sampled audit is in.
    assert not any("Findings of" in c.args["text"] for c in standin.posted("U0QA"))

    assert _complete(rt, slack, standin, second, second_auditor, grade="requires_improvement", plan="no").body == ""
    [findings] = [c for c in standin.posted("U0QA") if c.args["text"].startswith("Findings of")]
    assert "2 of 2 audits complete" in findings.args["text"]
    words = str(findings.args["blocks"])
    assert "Good: 1 · Requires Improvement: 1" in words and "Yes: 1 · No: 1" in words and "Answered: 2" in words
    assert "CS-1002" not in words and "Priya" not in words

    # Only the lead writes the report; it needs recommendations.
    assert _opened(slack, standin, "U0AUD", "thematic_report_open", theme.id) is None
    assert "Only the lead of TH-2027-01, Quinn QA" in standin.responses[-1].body["text"]
    view = _opened(slack, standin, "U0QA", "thematic_report_open", theme.id)
    summary = {"summary": {"answer": "Plans were mostly current; the child's voice was not always recorded."}}
    response = slack.view_submission("U0QA", view, summary).json()
    assert response["errors"] == {
        "recommendations": "Please give from 1 to 10 recommendations, one a line, each a short sentence or two."
    }
    recs = {"recommendations": {"answer": "Record the child's words at every visit.\nReview plans monthly."}}
    assert slack.view_submission("U0QA", view, summary | recs).body == ""
    rt.dispatcher.drain()
    [report] = [c for c in standin.posted("U0HOS") if "sends you the overview report" in c.args["text"]]
    assert "1. Record the child's words at every visit." in str(report.args["blocks"])

    # Only the sponsor signs it off; a second click is told who did.
    slack.block_action("U0PRAC", "thematic_sign_off", str(theme.id))
    assert "Only the sponsor of TH-2027-01, Helen Head" in standin.responses[-1].body["text"]
    slack.block_action("U0HOS", "thematic_sign_off", str(theme.id))
    slack.block_action("U0HOS", "thematic_sign_off", str(theme.id))
    assert "was already signed off by Helen Head" in standin.responses[-1].body["text"]
    rt.dispatcher.drain()
    assert "signed off by Helen Head" in standin.message(report.response["ts"])["text"]
    assert not [b for b in standin.message(report.response["ts"])["blocks"] if b["type"] == "actions"]
    with rt.database.unit_of_work() as db:
        theme = db.get(Theme, theme.id)
        assert theme.status == "signed_off"
        assert [r.text for r in db.scalars(select(Recommendation).order_by(Recommendation.number))] == [
            "Record the child's words at every visit.",
            "Review plans monthly.",
        ]
        # Six weeks on (Monday 22 February) and three months on (Sunday 11 April, so the Monday after).
        checks = {c.stage: rt.calendar.local(c.due_at).date() for c in db.scalars(select(LoopCheck))}
        assert checks == {"six_weeks": date(2027, 2, 22), "three_months": date(2027, 4, 12)}
        assert db.scalar(select(func.count()).select_from(Event).where(Event.kind == "theme.signed_off")) == 1
        assert db.scalar(select(func.count()).select_from(Event).where(Event.kind == "refused.theme_sign_off")) == 2
    signed = [c for c in standin.posted("C0QATEAM") if "signed off the overview report" in c.args["text"]]
    assert len(signed) == 1 and "Monday 22 February 2027" in signed[0].args["text"]
    # The action from the thematic audit is in Priya's digest on its due day, like any other.
    tick(rt, datetime(2027, 1, 25, 9, 5, tzinfo=LONDON))
    [digest] = [c for c in standin.posted("U0PRAC") if c.args["text"].startswith("Your reminders")]
    assert "your action is due today" in str(digest.args["blocks"])


@freeze_time(MONDAY, tick=True)
def test_the_lead_may_ask_for_the_findings_so_far(rt, standin, slack, world):
    assert _define(rt, slack, standin).body == ""
    theme = _theme(rt)
    (first, _, auditor), _ = _audits(rt)
    assert _complete(rt, slack, standin, first, auditor, grade="outstanding").body == ""
    slack.block_action("U0AUD", "thematic_findings", str(theme.id))
    assert "Only the lead of TH-2027-01" in standin.responses[-1].body["text"]
    slack.block_action("U0QA", "thematic_findings", str(theme.id))
    rt.dispatcher.drain()
    [findings] = [c for c in standin.posted("U0QA") if c.args["text"].startswith("Findings of")]
    assert "1 of 2 audits complete" in findings.args["text"] and "Outstanding: 1" in str(findings.args["blocks"])


@freeze_time(MONDAY, tick=True)
def test_a_thematic_audit_leaves_the_months_collaborative_sample_alone(rt, standin, slack, world):
    assert _define(rt, slack, standin, picked="CS-100234\nCS-100871\nCS-100512").body == ""
    with rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-01", rt.settings.framework, seed=1)
        # Not "recently audited": the team's quota of two is drawn from the three thematically audited cases.
        assert len(run.drawn) == 2
        db.get(Case, run.drawn[0]).reaudit_due = "2027-01"
    with rt.database.unit_of_work() as db:
        assert allocation_run.draw(db, "2027-01", rt.settings.framework, seed=1).drawn[0] == run.drawn[0]


def test_a_themes_questions_make_a_checked_form_in_as_many_modals_as_they_need():
    rows = [{"id": f"q{n}", "kind": ("grade", "yes_no", "text")[n % 3], "label": f"Question {n}"} for n in range(20)]
    form = questions_form("thematic", "TH-2027-01", "Thematic audit", "ofsted-2023", rows)
    assert [s.title for s in form.steps] == ["Thematic audit 1/3", "Thematic audit 2/3", "Thematic audit 3/3"]
    assert form.ref == "thematic@TH-2027-01" and form.overall is None and form.concern is None
    assert [o.label for o in form.question("q0").options] == [
        "Outstanding",
        "Good",
        "Requires Improvement",
        "Inadequate",
    ]
    with pytest.raises(FormError, match="unknown kind 'essay'"):
        questions_form(
            "thematic", "TH-2027-01", "Thematic audit", "ofsted-2023", [{"id": "q1", "kind": "essay", "label": "x"}]
        )
    assert thematic.parse_questions("grade: A\n\nyes/no: B\ntext: C")[0] == [
        {"id": "q1", "kind": "grade", "label": "A"},
        {"id": "q2", "kind": "yes_no", "label": "B"},
        {"id": "q3", "kind": "text", "label": "C"},
    ]
    assert thematic.parse_questions("grade:")[1] == {"code": "theme_question_length", "line": 1}
