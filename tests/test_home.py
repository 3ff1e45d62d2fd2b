"""App Home by role, through /slack/events as Slack sends it: each role sees what waits for it and what it watches,
each section once however many roles a person holds; a restricted record shows only its QA reference; every button
opens the same modal (or takes the same decision) as the DM that asks for it; and Home costs the same number of
queries for three items of every kind as for sixty. Thematic audits (the auditor's, the lead's, the sponsor's) and the
top ten of learning show to whoever the DM or digest asks, and to nobody else."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import event, select, update

from bot.workflow import home
from bot.workflow.directory import add_person
from bot.workflow.forms import grade_scale
from store.models import (
    Action,
    ActionExtension,
    Audit,
    Case,
    CaseAccess,
    Dispute,
    Escalation,
    EscalationStep,
    LoopCheck,
    Moderation,
    ModerationSession,
    Nomination,
    PathwayTask,
    Person,
    Recommendation,
    Theme,
    TopTen,
)
from tests.test_inadequate_walk import _at, council  # noqa: F401 (a fixture)
from tests.test_thematic import _audits as _thematic_audits
from tests.test_thematic import _complete, _define
from tests.test_thematic import _theme as _theme_row

MONDAY = datetime(2027, 1, 11, 10, 0, tzinfo=UTC)  # Monday 11 January 2027, 10:00 in London
DUE = datetime(2027, 1, 20, 17, 30, tzinfo=UTC)
PAST = datetime(2027, 1, 6, 17, 30, tzinfo=UTC)
# Buttons that take a decision in one click rather than open a form.
DECISIONS = {
    "allocation_accept",
    "action_sign_off",
    "escalation_escalate",
    "pathway_escalate",
    "pathway_acknowledge",
    "action_extension_approve",
    "action_extension_refuse",
    "dispute_uphold",
    "thematic_sign_off",
    "thematic_findings",
    "topten_approve",
}


@pytest.fixture
def people(rt, council):  # noqa: F811
    """The council's directory plus Max, who holds every role Home has a section for (auditor, practitioner, team
    manager, moderator, service manager, Head of Service, QA Head of Service), so one Home shows every kind of
    item."""
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Max Multi",
            email="max@council.example",
            slack_user_id="U0MAX",
            roles=[
                "auditor",
                "practitioner",
                "team_manager",
                "moderator",
                "service_manager",
                "head_of_service",
                "qa_head_of_service",
            ],
            team="Family Support North",
        )
        return {p.slack_user_id: p.id for p in db.scalars(select(Person))}


def _audit(db, n: int, case_id: int, status: str, auditor: int, practitioner: int, manager: int, **extra) -> Audit:
    audit = Audit(
        qa_ref=f"QA-2027-01-{n:03d}",
        case_id=case_id,
        month="2027-01",
        category="CIN",
        status=status,
        auditor_id=auditor,
        practitioner_id=practitioner,
        team_manager_id=manager,
        allocated_at=MONDAY - timedelta(days=7),
        accept_by=date(2027, 1, 13),
        due_at=datetime(2027, 1, 29, 17, 30, tzinfo=UTC),
        **extra,
    )
    db.add(audit)
    db.flush()
    return audit


def _theme(db, n: int, lead: int, sponsor: int, status: str = "auditing", **extra) -> Theme:
    theme = Theme(
        ref=f"TH-2027-{n:03d}",
        title=f"Neglect {n}",
        trigger="ofsted",
        sponsor_id=sponsor,
        lead_id=lead,
        month="2027-01",
        sample={"picked": []},
        questions=[{"id": "q1", "kind": "yes_no", "label": "Is the child's plan up to date?"}],
        grade_scale=grade_scale().version,
        audits_by=date(2027, 1, 29),
        report_by=date(2027, 2, 12),
        status=status,
        created_at=MONDAY - timedelta(days=30),
        **extra,
    )
    db.add(theme)
    db.flush()
    if status != "auditing":
        db.add(Recommendation(theme_id=theme.id, number=1, text="Record the child's words at every visit."))
    return theme


def _month(n: int) -> str:
    """A month of its own for each top ten (one a month)."""
    return f"{2000 + n // 12}-{n % 12 + 1:02d}"


def fill(rt, ids: dict[str, int], case_id: int, count: int, start: int = 1) -> None:
    """`count` items of every kind waiting for (or watched by) Max: as auditor, as practitioner and team manager,
    as moderator (half of them at a group meeting Max chairs), as the Service Manager asked (escalations, every other
    one about a close-the-loop check; extensions, pathway steps), as QA Head of Service (disputes, top tens to
    approve), as the lead of thematic audits (one with its findings in, one still auditing) and as the sponsor of
    others (a report to sign off, a close-the-loop check due)."""
    max_, amira, priya, tom = ids["U0MAX"], ids["U0AUD"], ids["U0PRAC"], ids["U0TM"]
    numbers = iter(range(start * 100, start * 100 + 100 * count))
    with freeze_time(MONDAY), rt.database.unit_of_work() as db:
        session = ModerationSession(
            month="2027-01", held_on=date(2027, 1, 25), chair_id=max_, created_by_id=ids["U0QA"], created_at=MONDAY
        )
        db.add(session)
        db.flush()
        for i in range(count):
            for status in ("allocated", "accepted"):
                _audit(db, next(numbers), case_id, status, max_, priya, tom)
            _audit(db, next(numbers), case_id, "in_progress", max_, priya, tom, meeting_at=PAST)
            _audit(db, next(numbers), case_id, "in_progress", max_, priya, tom, meeting_at=PAST, family_feedback={})
            _audit(db, next(numbers), case_id, "accepted", amira, max_, tom, meeting_at=DUE)  # a self-assessment
            mine = _audit(db, next(numbers), case_id, "awaiting_moderation", amira, priya, max_, overall_grade="good")
            # Due in turn, the last made first: the list must be sorted, not read in the order made.
            due = DUE - timedelta(minutes=start + i)
            db.add(
                Moderation(audit_id=mine.id, moderator_id=max_, due_at=due, session_id=session.id if i % 2 else None)
            )
            own = Action(audit_id=mine.id, description=f"Plan {i}", owner_id=max_, due_at=PAST, created_at=MONDAY)
            done = Action(
                audit_id=mine.id, description="Chronology", owner_id=priya, status="done", due_at=DUE, done_at=MONDAY
            )
            late = Action(audit_id=mine.id, description="Visit", owner_id=priya, due_at=PAST, created_at=MONDAY)
            db.add_all([own, done, late])
            db.flush()
            db.add(
                ActionExtension(
                    action_id=late.id,
                    number=2,
                    status="requested",
                    was_due=PAST,
                    to_due=DUE,
                    reason="Waiting for the school.",
                    requested_by_id=tom,
                    requested_at=MONDAY,
                    asked_id=max_,
                )
            )
            n = start * 100 + i
            _theme(db, 4 * n, max_, ids["U0HOS"], findings_sent_at=MONDAY)
            _theme(db, 4 * n + 1, max_, ids["U0HOS"])
            summary = {"summary": "Voices were not always heard.", "reported_at": MONDAY}
            _theme(db, 4 * n + 2, ids["U0QA"], max_, "awaiting_sign_off", **summary)
            signed = _theme(db, 4 * n + 3, ids["U0QA"], max_, "signed_off", **summary, signed_off_at=PAST)
            checks = [
                LoopCheck(theme_id=signed.id, stage="six_weeks", due_at=PAST, answers={}),
                LoopCheck(theme_id=signed.id, stage="three_months", due_at=DUE + timedelta(days=40), answers={}),
            ]
            db.add_all(checks)
            item = {"source": "highlight", "source_id": n, "title": "Voice", "grade": None, "service": None}
            db.add(TopTen(month=_month(n), status="draft", items=[item | {"text": "Listen."}], drafted_at=MONDAY))
            db.flush()
            if i % 2:  # the three-month check, not recorded: Max is first in its chain
                policy, subject_type, subject_id = "overdue_loop_check", "loop_checks", checks[1].id
                chain = [{"level": 0, "role": "assistant_director", "person_id": max_}]
            else:
                policy, subject_type, subject_id = "overdue_action", "action", late.id
                chain = [{"level": 0, "role": "service_manager", "person_id": max_}]
            chain.append({"level": 1, "role": "head_of_service", "person_id": ids["U0HOS"]})
            db.add(
                Escalation(
                    policy=policy,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    chain=chain,
                    started_at=MONDAY + timedelta(seconds=i),
                    respond_by=DUE,
                )
            )
            db.add(
                PathwayTask(
                    audit_id=mine.id, kind="reflective_meeting", asked=[max_], created_at=MONDAY, due_at=DUE, detail={}
                )
            )
            moderated = _audit(db, next(numbers), case_id, "moderated", amira, priya, tom, overall_grade="good")
            moderation = Moderation(audit_id=moderated.id, moderator_id=ids["U0MOD"], status="done", due_at=PAST)
            moderation.grade = "good"
            db.add(moderation)
            db.flush()
            db.add(
                Dispute(
                    audit_id=moderated.id,
                    moderation_id=moderation.id,
                    raised_by_id=priya,
                    reason="No.",
                    raised_at=MONDAY,
                )
            )


def _home(slack, standin, user: str) -> str:
    assert slack.app_home_opened(user).status == 200
    return json.dumps(standin.home(user)["blocks"], ensure_ascii=False)


def _buttons(view: dict) -> list[dict]:
    found = []
    for block in view["blocks"]:
        found += [block["accessory"]] if block.get("accessory", {}).get("type") == "button" else []
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
    return found


# ----- by role ------------------------------------------------------------------------------------------------------


@freeze_time(MONDAY, tick=True)
def test_the_auditor_sees_allocations_meetings_feedback_and_audits_to_complete(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    text = _home(slack, standin, "U0MAX")
    assert "*Allocations to accept* (1)" in text
    assert "Accept this audit, or pass it back if you can't take it — by *Wednesday 13 January 2027*" in text
    assert "*Meetings to arrange* (1)" in text and "Arrange the audit meeting with Priya Practitioner and Tom" in text
    assert "*Family feedback to record* (1)" in text and "*Audits to complete* (1)" in text
    assert "by *Friday 29 January 2027*" in text  # what is due: the month's last working day


@freeze_time(MONDAY, tick=True)
def test_the_practitioner_sees_their_audits_actions_and_self_assessment(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    text = _home(slack, standin, "U0PRAC")
    assert "*Your actions* (2)" in text  # one open and overdue, one done and waiting for sign-off
    assert "your action was due *Wednesday 6 January 2027* and is overdue" in text and "\\n>Visit" in text
    assert "you marked this action done: waiting for your team manager's sign-off" in text
    assert "*Your audits* (" in text and "allocated to Max Multi, waiting for them to accept" in text
    assert "audited by Amira Auditor and moderated" in text
    assert "*Self-assessments to complete* (3)" in text  # the audits Max is auditing, not yet submitted
    text = _home(slack, standin, "U0MAX")
    assert "*Self-assessments to complete* (1)" in text and "Complete your self-assessment — by" in text


@freeze_time(MONDAY, tick=True)
def test_the_team_manager_sees_the_teams_audits_sign_offs_and_overdue_actions(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    text = _home(slack, standin, "U0TM")
    assert "*Your team's audits* (" in text and "(Priya Practitioner) — allocated to Max Multi" in text
    # Tom manages the audits Max carries out; the actions are on the audits Max manages.
    assert "*Actions awaiting your sign-off* (" not in text and "*Overdue actions in your team* (" not in text
    text = _home(slack, standin, "U0MAX")
    assert "*Actions awaiting your sign-off* (1)" in text
    assert "Priya Practitioner marked this action done on Monday 11 January 2027: it needs your sign-off" in text
    assert "*Overdue actions in your team* (2)" in text
    assert "Priya Practitioner's action was due Wednesday 6 January 2027 and is overdue" in text


@freeze_time(MONDAY, tick=True)
def test_the_moderator_sees_their_queue_with_the_group_meeting_they_chair(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 2)
    text = _home(slack, standin, "U0MAX")
    assert "*Your moderation queue* (2)" in text
    assert "moderate it by *20 Jan 2027, 17:28* (auditor's grade: Good)" in text
    assert "at the group moderation meeting on Monday 25 January 2027" in text


@freeze_time(MONDAY, tick=True)
def test_managers_see_escalations_pathway_steps_extensions_and_disputes(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    text = _home(slack, standin, "U0MAX")
    assert "*Escalations awaiting your decision* (1)" in text
    assert "an action still open after its due date. Please decide by *20 Jan 2027, 17:30*" in text
    assert "*Inadequate pathway: steps asked of you* (1)" in text
    assert "*Second extensions to approve* (1)" in text
    assert "Tom Teamlead asks for a second extension of an action, from Wednesday 6 January 2027" in text
    assert (
        "*Disputed grades to decide* (1)" in text and "Priya Practitioner disputes the moderated grade (*Good*)" in text
    )
    # Helen is next in the escalation's chain: nothing waits for her until it climbs; then it is hers, not Max's.
    assert "Escalations awaiting" not in _home(slack, standin, "U0HOS")
    with rt.database.unit_of_work() as db:
        db.execute(update(Escalation).values(level=1))
    assert "*Escalations awaiting your decision* (1)" in _home(slack, standin, "U0HOS")
    assert "Escalations awaiting" not in _home(slack, standin, "U0MAX")


@freeze_time(MONDAY, tick=True)
def test_a_safeguarding_concern_waits_on_whoever_acknowledged_it(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    helen, max_ = people["U0HOS"], people["U0MAX"]
    with rt.database.unit_of_work() as db:
        audit_id = db.scalar(select(Audit.id).order_by(Audit.id).limit(1))
        concern = Escalation(
            policy="safeguarding",
            subject_type="audits",
            subject_id=audit_id,
            chain=[{"level": 0, "role": "team_manager", "person_id": p} for p in (helen, max_)],
            started_at=MONDAY,
            respond_by=DUE,
        )
        db.add(concern)
    # Alerted and not yet acknowledged: it asks for an acknowledgement, not a decision.
    assert "Escalations awaiting" not in _home(slack, standin, "U0HOS")
    assert "*Escalations awaiting your decision* (1)" in _home(slack, standin, "U0MAX")
    with rt.database.unit_of_work() as db:
        db.get(Escalation, concern.id).status = "acknowledged"
        db.add(EscalationStep(escalation_id=concern.id, level=0, person_id=helen, what="acknowledged", at=MONDAY))
    assert "*Escalations awaiting your decision* (1)" in _home(slack, standin, "U0HOS")
    assert "*Escalations awaiting your decision* (1)" in _home(slack, standin, "U0MAX")


@freeze_time(MONDAY, tick=True)
def test_a_delegate_sees_the_decisions_they_cover(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    with rt.database.unit_of_work() as db:
        db.get(Person, people["U0MAX"]).delegate_id = people["U0SM"]
    text = _home(slack, standin, "U0SM")
    assert "*Escalations awaiting your decision* (1)" in text and "*Second extensions to approve* (1)" in text
    # Max sponsors thematic audits: his delegate signs off their reports and records their checks too.
    assert "*Overview reports awaiting your sign-off* (1)" in text and "*Close-the-loop checks to record* (1)" in text
    # What is Max's own as their lead (or as an approver of the top ten) is not delegated.
    assert "*Overview reports to write*" not in text and "*Top ten of learning to approve*" not in text


@freeze_time(MONDAY, tick=True)
def test_the_qa_team_sees_the_months_progress(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 2)
    with rt.database.unit_of_work() as db:
        db.add(
            Escalation(
                policy="safeguarding", subject_type="audit", subject_id=1, chain=[], started_at=MONDAY, respond_by=DUE
            )
        )
        audit = db.scalar(select(Audit).where(Audit.status == "moderated"))
        db.add(
            Nomination(
                audit_id=audit.id,
                nominated_by_id=people["U0MOD"],
                nominated_as="moderator",
                grade="good",
                reason="Clear plan.",
                nominated_at=MONDAY,
            )
        )
        db.add(Moderation(audit_id=audit.id, moderator_id=people["U0MOD"], due_at=PAST))  # late
    text = _home(slack, standin, "U0QA")
    assert "*This month: January 2027*" in text
    figures = {"Allocated": 14, "Accepted": 0, "Audited": 0, "Moderated": 2, "Allocations not yet accepted": 2}
    figures |= {"Moderations late": 1, "Safeguarding alerts open": 1}
    for label, figure in figures.items():
        assert f"*{label}*\\n{figure}" in text, label
    assert "1 waiting in the learning queue" in text
    assert "This month" not in _home(slack, standin, "U0TM")


@freeze_time(MONDAY, tick=True)
def test_several_roles_see_each_section_once_waiting_first(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 2)
    text = _home(slack, standin, "U0MAX")
    for title in (
        "Allocations to accept",
        "Your actions",
        "Your moderation queue",
        "Self-assessments to complete",
        "Your team's audits",
    ):
        assert text.count(f"*{title}* (") == 1, title
    assert text.index("Waiting for you") < text.index("What you are watching") < text.index("*Your team's audits*")
    assert text.count("This month: January 2027") == 1  # Max is a QA Head of Service


@freeze_time(MONDAY, tick=True)
def test_nothing_waiting_and_strangers(rt, standin, slack, people, world):
    assert "Nothing is waiting for you right now" in _home(slack, standin, "U0HOS")
    assert "not in qabot's staff directory" in _home(slack, standin, "U0STRANGER")


# ----- restricted records -------------------------------------------------------------------------------------------


@freeze_time(MONDAY, tick=True)
def test_a_restricted_record_shows_only_its_reference_until_access_is_granted(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    with rt.database.unit_of_work() as db:
        db.get(Case, world.case_id).restricted = True
    text = _home(slack, standin, "U0MAX")
    assert text.count("restricted — contact the QA team.") >= 10
    for leak in ("Priya Practitioner", "Tom Teamlead", "Plan 0", "Chronology", "Visit", "CS-"):
        assert leak not in text, leak
    # The buttons stay: each form decides for itself what it shows, as it does from the DM.
    assert {b["action_id"] for b in _buttons(standin.home("U0MAX"))} >= {"allocation_accept", "moderation_open"}
    with rt.database.unit_of_work() as db:
        db.add(CaseAccess(case_id=world.case_id, person_id=people["U0MAX"], granted_at=MONDAY))
    text = _home(slack, standin, "U0MAX")
    assert "restricted — contact the QA team" not in text and "Priya Practitioner" in text


@freeze_time(MONDAY, tick=True)
def test_home_never_shows_a_case_system_id(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    with rt.database.unit_of_work() as db:
        case_ref = db.get(Case, world.case_id).case_ref
    for user in ("U0MAX", "U0PRAC", "U0TM", "U0AUD", "U0QA"):
        assert case_ref not in _home(slack, standin, user), user


# ----- one click ----------------------------------------------------------------------------------------------------


@freeze_time(MONDAY, tick=True)
def test_every_home_button_opens_its_modal_or_decides_through_the_same_handler(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    assert slack.app_home_opened("U0MAX").status == 200
    view = standin.home("U0MAX")
    buttons = _buttons(view)
    kinds = {b["action_id"] for b in buttons}
    assert kinds == {
        "allocation_accept",
        "allocation_decline",
        "meeting_open",
        "family_feedback_open",
        "audit_form_open",
        "self_assessment_open",
        "action_done_open",
        "action_sign_off",
        "action_reopen_open",
        "moderation_open",
        "escalation_resolve",
        "escalation_extend",
        "escalation_escalate",
        "pathway_record",
        "action_extension_approve",
        "action_extension_refuse",
        "dispute_uphold",
        "dispute_change",
        "dispute_meeting",
        "thematic_report_open",
        "thematic_sign_off",
        "thematic_loop_open",
        "thematic_findings",
        "topten_edit",
        "topten_approve",
    }
    container = {"type": "view", "view_id": view["id"]}
    # Forms first: a decision taken on a record would close the form on the same record.
    # Approve and Refuse answer the same request: Approve is clicked, Refuse would be told it is decided.
    clicked = [b for b in buttons if b["action_id"] != "action_extension_refuse"]
    for button in sorted(clicked, key=lambda b: b["action_id"] in DECISIONS):
        opened = len([c for c in standin.calls if c.method == "views.open" and c.ok])
        refusals = len([c for c in standin.calls if c.method == "chat.postEphemeral"])
        user = "U0MAX"
        assert slack.block_action(user, button["action_id"], button["value"], container=container).status == 200
        assert len([c for c in standin.calls if c.method == "chat.postEphemeral"]) == refusals, button
        now_opened = len([c for c in standin.calls if c.method == "views.open" and c.ok])
        assert now_opened == opened + (0 if button["action_id"] in DECISIONS else 1), button
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(Audit.status).where(Audit.qa_ref == "QA-2027-01-100")) == "accepted"
        assert db.scalar(select(Dispute.status)) == "upheld"
        assert db.scalar(select(Action.status).where(Action.description == "Chronology")) == "signed_off"
        assert db.scalar(select(Theme.status).where(Theme.ref == "TH-2027-402")) == "signed_off"
        assert db.scalar(select(TopTen.status)) == "posted"
    # The modals each opened: the thematic report, the close-the-loop check and the top ten's editor among them.
    opened = {c.args["view"]["callback_id"] for c in standin.calls if c.method == "views.open" and c.ok}
    assert opened >= {"thematic_report", "thematic_loop", "topten_form"}
    rt.dispatcher.drain()
    assert [
        c for c in standin.posted("U0MAX") if c.args["text"].startswith("Findings of the thematic audit TH-2027-401")
    ]


# ----- cost and size ------------------------------------------------------------------------------------------------


def _queries(rt, slack_user_id: str) -> tuple[int, dict]:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(rt.database.engine, "before_cursor_execute", count)
    try:
        with rt.database.unit_of_work() as db:
            ctx = home.home_for(db, rt.calendar, slack_user_id, rt.settings.framework)
    finally:
        event.remove(rt.database.engine, "before_cursor_execute", count)
    return len(statements), ctx


@freeze_time(MONDAY, tick=True)
def test_home_costs_the_same_queries_for_three_items_of_every_kind_as_for_sixty(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 3)
    few, ctx = _queries(rt, "U0MAX")
    assert {s["count"] for s in ctx["waiting"]} == {3}
    kinds = {s["kind"] for s in ctx["waiting"] + ctx["watching"]}
    assert kinds >= {"theme_report", "theme_sign_off", "loop_checks", "topten", "themes"}
    [escalations] = [s for s in ctx["waiting"] if s["kind"] == "escalations"]
    assert {e["policy"] for e in escalations["items"]} == {"overdue_action", "overdue_loop_check"}
    fill(rt, people, world.case_id, 57, start=10)
    many, ctx = _queries(rt, "U0MAX")
    assert many == few, (few, many)
    assert all(len(s["items"]) == home.CAP for s in ctx["waiting"] + ctx["watching"])
    by_kind = {s["kind"]: s["count"] for s in ctx["waiting"] + ctx["watching"]}
    assert by_kind["accept"] == by_kind["moderations"] == by_kind["escalations"] == by_kind["disputes"] == 60
    assert by_kind["theme_report"] == by_kind["theme_sign_off"] == by_kind["loop_checks"] == by_kind["topten"] == 60
    assert by_kind["themes"] == 60
    # The view stays within Slack's 100 blocks, validated as Slack would (render_view checks with slack_sdk).
    assert slack.app_home_opened("U0MAX").status == 200
    published = standin.home("U0MAX")
    assert len(published["blocks"]) <= 100
    text = json.dumps(published, ensure_ascii=False)
    assert "*Allocations to accept* (60)" in text and "…and 50 more" in text
    # Most urgent first: the moderations due soonest, the longest overdue actions.
    [moderations] = [s for s in ctx["waiting"] if s["kind"] == "moderations"]
    dues = [m["due"] for m in moderations["items"]]
    assert dues == sorted(dues) and dues[0] == DUE - timedelta(minutes=10 + 56)


@freeze_time(MONDAY, tick=True)
def test_a_refused_click_in_home_is_answered_in_the_dm(rt, standin, slack, people, world):
    fill(rt, people, world.case_id, 1)
    assert slack.app_home_opened("U0MAX").status == 200
    view = standin.home("U0MAX")
    [accept] = [b for b in _buttons(view) if b["action_id"] == "allocation_accept"]
    container = {"type": "view", "view_id": view["id"]}
    for action_id in ("allocation_accept", "allocation_accept", "allocation_decline"):
        assert slack.block_action("U0MAX", action_id, accept["value"], container=container).status == 200
    refusals = [c for c in standin.calls if c.method == "chat.postEphemeral"]
    assert len(refusals) == 2 and all(c.ok and c.args["channel"] == "DU0MAX" for c in refusals)
    assert "already" in refusals[0].args["text"]


@freeze_time(MONDAY, tick=True)
def test_the_ad_safeguarding_and_the_executive_director_take_their_pathway_steps_from_home(
    rt, standin, slack, people, world
):
    fill(rt, people, world.case_id, 1)
    with rt.database.unit_of_work() as db:
        audit_id = db.scalar(select(Audit.id).where(Audit.status == "moderated"))
        for kind, user in (("ad_escalation", "U0ANN"), ("executive", "U0ED")):
            asked = [people[user]]
            db.add(PathwayTask(audit_id=audit_id, kind=kind, asked=asked, created_at=MONDAY, due_at=DUE, detail={}))
    for user, action_id, words in (
        ("U0ANN", "pathway_escalate", "escalate it to the Assistant Director responsible"),
        ("U0ED", "pathway_acknowledge", "acknowledge the final escalation to the Executive Director"),
    ):
        assert words in _home(slack, standin, user)
        view = standin.home(user)
        [button] = [b for b in _buttons(view) if b["action_id"] == action_id]
        container = {"type": "view", "view_id": view["id"]}
        assert slack.block_action(user, action_id, button["value"], container=container).status == 200
        assert "Inadequate pathway" not in _home(slack, standin, user)  # done: it leaves the Home
    assert not [c for c in standin.calls if c.method == "chat.postEphemeral"]


# ----- thematic audits and the top ten of learning ------------------------------------------------------------------


def _click(slack, standin, user: str, action_id: str, value: str | None = None) -> dict:
    """Click the Home button `action_id` (the one with `value`, when given) as Slack sends it from the Home view;
    the modal it opened, if it opened one."""
    view = standin.home(user)
    [button] = [b for b in _buttons(view) if b["action_id"] == action_id and value in (None, b["value"])]
    before = len([c for c in standin.calls if c.method == "views.open" and c.ok])
    container = {"type": "view", "view_id": view["id"]}
    assert slack.block_action(user, action_id, button["value"], container=container).status == 200
    opened = [c for c in standin.calls if c.method == "views.open" and c.ok]
    return opened[-1].response["view"] if len(opened) > before else {}


def test_a_thematic_audit_shows_to_its_auditor_lead_and_sponsor_and_to_nobody_else(rt, standin, slack, council):  # noqa: F811
    """Quinn (QA team) leads a theme sponsored by Helen (Head of Service), on two of Priya's cases: each auditor
    accepts and answers the theme's form from Home, Quinn follows its progress and writes the overview report from
    Home, Helen signs it off and records the six-week check from Home. Priya, Tom and the others see none of it."""
    with freeze_time(_at(2027, 2, 1), tick=True):
        assert _define(rt, slack, standin, audits_by="2027-02-12", report_by="2027-02-19").body == ""
        theme = _theme_row(rt)
        audits = _thematic_audits(rt)
        with rt.database.unit_of_work() as db:
            refs = list(db.scalars(select(Audit.qa_ref).where(Audit.kind == "thematic")))
        title = "Neglect: is the child's lived experience understood?"

        # The auditor: the allocation names the theme; accepted from Home, the next step is the theme's own form.
        first, _, auditor = audits[0]
        assert f"Accept this thematic audit ({title}), or pass it back" in _home(slack, standin, auditor)
        assert _click(slack, standin, auditor, "allocation_accept", str(first)) == {}
        text = _home(slack, standin, auditor)
        assert f"Answer the thematic audit's questions from the record ({title}) — by *Friday 12 February 2027*" in text
        assert "*Meetings to arrange*" not in text and "*Family feedback to record*" not in text
        form = _click(slack, standin, auditor, "audit_form_open", str(first))
        assert form["callback_id"] == "audit_form_step"
        assert "How well is the child's lived experience understood?" in json.dumps(form, ensure_ascii=False)

        # The lead watches the theme's progress, and may ask for the findings so far.
        text = _home(slack, standin, "U0QA")
        assert "*Thematic audits you lead* (1)" in text and f"({title}) — 0 of 2 audits complete" in text
        assert _click(slack, standin, "U0QA", "thematic_findings") == {}
        rt.dispatcher.drain()
        assert standin.posted("U0QA")[-1].args["text"].startswith("Findings of the thematic audit TH-2027-01")

        # The practitioner and team manager take no part in a thematic audit: Home shows them none of it.
        for user in ("U0PRAC", "U0TM", "U0HOS", "U0HEAD", "U0SM"):
            text = _home(slack, standin, user)
            for leak in (*refs, theme.ref, "Self-assessments"):
                assert leak not in text, (user, leak)

        for audit_id, _, who in audits:
            assert _complete(rt, slack, standin, audit_id, who).body == ""
        text = _home(slack, standin, auditor)
        assert f"({title}), audited by " in text and ": complete" in text and "*Audits to complete*" not in text

        # Every audit in: the lead writes the overview report from Home.
        text = _home(slack, standin, "U0QA")
        assert "*Overview reports to write* (1)" in text and "every audit is in (2 of 2 complete)" in text
        assert "Please write the overview report for Helen Head — by *Friday 19 February 2027*" in text
        form = _click(slack, standin, "U0QA", "thematic_report_open", str(theme.id))
        report = {"summary": {"answer": "The child's voice was not always recorded."}}
        report |= {"recommendations": {"answer": "Record the child's words at every visit.\nReview plans monthly."}}
        assert slack.view_submission("U0QA", form, report).body == ""
        rt.dispatcher.drain()
        text = _home(slack, standin, "U0QA")
        assert "*Overview reports to write*" not in text and "your overview report is with Helen Head" in text

        # Only the sponsor is asked to sign it off; from Home, in one click.
        for user in ("U0QA", "U0HEAD", "U0ADA", auditor):
            assert "Overview reports awaiting your sign-off" not in _home(slack, standin, user), user
        text = _home(slack, standin, "U0HOS")
        assert "*Overview reports awaiting your sign-off* (1)" in text and "with 2 recommendations" in text
        assert "The child's voice was not always recorded." in text
        assert _click(slack, standin, "U0HOS", "thematic_sign_off", str(theme.id)) == {}
        assert _theme_row(rt).status == "signed_off"
        assert "Overview reports awaiting" not in _home(slack, standin, "U0HOS")
        assert "signed off on Monday 1 February 2027; Helen Head records the" in _home(slack, standin, "U0QA")

    # Six weeks on (Monday 15 March), the check is due: not the working day before.
    with freeze_time(_at(2027, 3, 12), tick=True):
        assert "Close-the-loop checks" not in _home(slack, standin, "U0HOS")
    with freeze_time(_at(2027, 3, 15), tick=True):
        text = _home(slack, standin, "U0HOS")
        assert "*Close-the-loop checks to record* (1)" in text
        assert "six weeks on: record how far each recommendation is implemented, by *Monday 15 March 2027*" in text
        for user in ("U0QA", "U0HEAD", "U0ADA", "U0ED"):
            assert "Close-the-loop checks" not in _home(slack, standin, user), user
        with rt.database.unit_of_work() as db:
            check_id = db.scalar(select(LoopCheck.id).where(LoopCheck.stage == "six_weeks"))
        form = _click(slack, standin, "U0HOS", "thematic_loop_open", str(check_id))
        assert form["callback_id"] == "thematic_loop" and form["title"]["text"] == "Six-week check"
    assert not [c for c in standin.calls if c.method == "chat.postEphemeral"]


@freeze_time(MONDAY, tick=True)
def test_an_overdue_close_the_loop_check_is_escalated_to_the_sponsors_line_on_home(rt, standin, slack, people, world):
    with rt.database.unit_of_work() as db:
        signed = _theme(db, 1, people["U0QA"], people["U0HOS"], "signed_off", summary="Voices.", signed_off_at=PAST)
        check = LoopCheck(theme_id=signed.id, stage="six_weeks", due_at=PAST, answers={})
        db.add(check)
        db.flush()
        chain = [{"level": 0, "role": "assistant_director", "person_id": people["U0ADA"]}]
        chain.append({"level": 1, "role": "executive_director", "person_id": people["U0ED"]})
        db.add(
            Escalation(
                policy="overdue_loop_check",
                subject_type="loop_checks",
                subject_id=check.id,
                chain=chain,
                started_at=MONDAY,
                respond_by=DUE,
            )
        )
    text = _home(slack, standin, "U0ADA")
    assert "*Escalations awaiting your decision* (1)" in text
    assert "*TH-2027-001* — a thematic audit's close-the-loop check not recorded in time" in text
    assert {b["action_id"] for b in _buttons(standin.home("U0ADA"))} == {
        "escalation_resolve",
        "escalation_extend",
        "escalation_escalate",
    }
    # The sponsor still has the check to record; the Executive Director is not asked yet.
    assert "*Close-the-loop checks to record* (1)" in _home(slack, standin, "U0HOS")
    assert "Escalations awaiting" not in _home(slack, standin, "U0ED")


def _top_ten(rt) -> int:
    with rt.database.unit_of_work() as db:
        items = [{"source": "highlight", "source_id": 1, "title": "Voice", "grade": None, "service": None}]
        topten = TopTen(month="2026-12", status="draft", items=[items[0] | {"text": "Listen."}], drafted_at=MONDAY)
        db.add(topten)
        db.flush()
        return topten.id


@freeze_time(MONDAY, tick=True)
def test_the_qa_head_of_service_edits_and_approves_the_top_ten_from_home(rt, standin, slack, council):  # noqa: F811
    topten_id = _top_ten(rt)
    # Hana, the QA Head of Service, approves it: the QA team and everyone else see nothing of it.
    for user in ("U0QA", "U0HOS", "U0AUD", "U0PRAC"):
        assert "Top ten of learning" not in _home(slack, standin, user), user
    text = _home(slack, standin, "U0HEAD")
    assert "*Top ten of learning to approve* (1)" in text and "for *December 2026* is drafted (1 item," in text
    form = _click(slack, standin, "U0HEAD", "topten_edit", str(topten_id))
    assert form["callback_id"] == "topten_form"
    assert _click(slack, standin, "U0HEAD", "topten_approve", str(topten_id)) == {}
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        assert db.get(TopTen, topten_id).status == "posted"
    assert [c for c in standin.posted("C0QATEAM") if "December 2026" in c.args["text"]]
    assert "Top ten of learning" not in _home(slack, standin, "U0HEAD")
    assert not [c for c in standin.calls if c.method == "chat.postEphemeral"]


@freeze_time(MONDAY, tick=True)
def test_with_no_qa_head_of_service_the_qa_team_approves_the_top_ten_from_home(rt, standin, slack, world):
    topten_id = _top_ten(rt)
    assert "Top ten of learning" not in _home(slack, standin, "U0HOS")
    assert "*Top ten of learning to approve* (1)" in _home(slack, standin, "U0QA")
    assert _click(slack, standin, "U0QA", "topten_approve", str(topten_id)) == {}
    with rt.database.unit_of_work() as db:
        assert db.get(TopTen, topten_id).status == "posted"
