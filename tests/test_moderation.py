"""Step 6, moderation, through /slack/events: an independent moderator is assigned when the audit is submitted,
agrees or changes each grade (a change needs its rationale), and the outcome reaches the practitioner, team
manager and auditor by DM; reminders as the deadline nears, and the QA team's daily list of late ones."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.workflow import digests, moderation
from bot.workflow.directory import add_person
from scheduler.jobs import SWEEPS
from store.models import Audit, Event, Moderation, OutboxMessage, Person
from tests.test_audit_form import FORM, _walk

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
OVERALL = FORM.overall.id
DOMAIN = FORM.domains[0].id
CHANGED_WORDS = "The plan was never reviewed with the school."


@pytest.fixture
def moderators(rt, world):
    """Fay works in Priya's team, so she never moderates Priya's audits; Mo is independent."""
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Fay Close",
            email="fay@council.example",
            slack_user_id="U0FAY",
            roles=["moderator"],
            team="Family Support North",
        )
        add_person(
            db,
            name="Mo Derator",
            email="mo@council.example",
            slack_user_id="U0MOD",
            roles=["moderator"],
            team="Quality Assurance",
        )


def _submit(rt, slack, standin, audit_id, overall="good"):
    view = _walk(slack, standin, audit_id, overall=overall)
    due = (MONDAY_10 + timedelta(weeks=1)).date().isoformat()
    action = {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": "U0PRAC"}, "due_1": {"answer": due}}
    assert slack.view_submission("U0AUD", view, action).body == ""
    rt.dispatcher.drain()


def _moderation(rt) -> Moderation:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(Moderation))


def _open(slack, standin, user, moderation_id):
    before = len([c for c in standin.calls if c.method == "views.open"])
    slack.block_action(user, "moderation_open", str(moderation_id))
    opened = [c for c in standin.calls if c.method == "views.open"]
    return opened[-1].response["view"] if len(opened) > before else None


def _events(rt, kind):
    with rt.database.unit_of_work() as db:
        return db.scalars(select(Event).where(Event.kind == kind)).all()


def _texts(standin, to):
    return [c.args["text"] for c in standin.posted(to)]


@freeze_time(MONDAY_10, tick=True)
def test_an_independent_moderator_is_assigned_by_month_end(rt, standin, slack, audit_id, moderators):
    _submit(rt, slack, standin, audit_id, overall="requires_improvement")
    mod = _moderation(rt)
    with rt.database.unit_of_work() as db:
        assert db.get(Person, mod.moderator_id).slack_user_id == "U0MOD"
        assert db.get(Audit, audit_id).status == "awaiting_moderation"
    # The last working day of January 2027 is Friday the 29th, at the end of working hours.
    assert mod.status == "pending" and mod.due_at == datetime(2027, 1, 29, 17, 30, tzinfo=LONDON)
    [told] = standin.posted("U0MOD")
    assert told.args["text"] == (
        "Please moderate QA-2027-01-001 (auditor's overall grade: Requires Improvement) by 29 Jan 2027, 17:30."
    )
    [button] = [e for b in told.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == ("moderation_open", str(mod.id))
    assert standin.posted("U0FAY") == []
    [event] = _events(rt, "moderation.assigned")
    assert event.detail["moderation_id"] == mod.id


@freeze_time(MONDAY_10, tick=True)
def test_the_least_loaded_moderator_is_chosen(rt, standin, slack, audit_id, moderators):
    with rt.database.unit_of_work() as db:
        add_person(db, name="Max Mod", email="max@council.example", slack_user_id="U0MAX", roles=["moderator"])
        mo = db.scalar(select(Person.id).where(Person.slack_user_id == "U0MOD"))
        db.add(Moderation(audit_id=audit_id, moderator_id=mo, status="pending", due_at=MONDAY_10))
    _submit(rt, slack, standin, audit_id)
    assert standin.posted("U0MAX") and not standin.posted("U0MOD")


@freeze_time(MONDAY_10, tick=True)
def test_inadequate_is_due_within_two_working_days(rt, standin, slack, audit_id, moderators):
    _submit(rt, slack, standin, audit_id, overall="inadequate")
    assert _moderation(rt).due_at == datetime(2027, 1, 13, 17, 30, tzinfo=LONDON)
    [told] = _texts(standin, "U0MOD")
    assert "by 13 Jan 2027, 17:30" in told and "moderated straight away" in told


@pytest.mark.parametrize("who", ["nobody", "only_in_the_team"])
@freeze_time(MONDAY_10, tick=True)
def test_with_no_independent_moderator_the_qa_team_is_told(rt, standin, slack, audit_id, who):
    if who == "only_in_the_team":
        with rt.database.unit_of_work() as db:
            add_person(
                db,
                name="Fay Close",
                email="fay@council.example",
                slack_user_id="U0FAY",
                roles=["moderator"],
                team="Family Support North",
            )
    _submit(rt, slack, standin, audit_id, overall="requires_improvement")
    mod = _moderation(rt)
    assert (mod.moderator_id, mod.status) == (None, "pending")
    assert _events(rt, "moderation.unassigned") and standin.posted("U0FAY") == []
    # The QA team hears at the next sweep, and once each working day until it is arranged.
    assert _sweep(rt, MONDAY_10 + timedelta(minutes=5)) == 0
    assert _sweep(rt, MONDAY_10 + timedelta(hours=2)) == 0
    assert _texts(standin, "C0QATEAM") == [
        "No independent moderator is available for QA-2027-01-001. Please arrange its moderation."
    ]


@freeze_time(MONDAY_10, tick=True)
def test_only_the_moderator_opens_the_form(rt, standin, slack, audit_id, moderators):
    _submit(rt, slack, standin, audit_id)
    mod = _moderation(rt)
    for user in ("U0PRAC", "U0AUD", "U0FAY"):
        assert _open(slack, standin, user, mod.id) is None
        assert "Only the moderator of QA-2027-01-001 can do this" in standin.responses[-1].body["text"]
    refused = _events(rt, "refused.moderation_open")
    assert [e.actor_slack_id for e in refused] == ["U0PRAC", "U0AUD", "U0FAY"]
    view = _open(slack, standin, "U0MOD", mod.id)
    assert view["callback_id"] == "moderation_form"
    selects = {b["block_id"]: b for b in view["blocks"] if b.get("element", {}).get("type") == "static_select"}
    assert list(selects) == [q.id for q in FORM.domains] + [OVERALL]
    assert all(b["element"]["initial_option"]["value"] == "good" for b in selects.values())
    assert selects[OVERALL]["hint"]["text"] == "The auditor's grade: Good"
    assert f"{DOMAIN}_rationale" in {b.get("block_id") for b in view["blocks"]}


@freeze_time(MONDAY_10, tick=True)
def test_a_changed_grade_needs_its_rationale_and_no_pii(rt, standin, slack, audit_id, moderators):
    _submit(rt, slack, standin, audit_id)
    view = _open(slack, standin, "U0MOD", _moderation(rt).id)
    response = slack.view_submission("U0MOD", view, {OVERALL: {"answer": "requires_improvement"}}).json()
    assert response == {
        "response_action": "errors",
        "errors": {
            f"{OVERALL}_rationale": "You changed this grade: please say why (the evidence of impact on the child)."
        },
    }
    typed = {OVERALL: {"answer": "requires_improvement"}, f"{OVERALL}_rationale": {"answer": "Seen at RH12 1AB."}}
    response = slack.view_submission("U0MOD", view, typed).json()
    assert list(response["errors"]) == [f"{OVERALL}_rationale"]
    assert "postcode (RH12 1AB)" in response["errors"][f"{OVERALL}_rationale"]
    assert _moderation(rt).status == "pending" and not _events(rt, "moderation.recorded")


@freeze_time(MONDAY_10, tick=True)
def test_agreeing_every_grade(rt, standin, slack, audit_id, moderators):
    _submit(rt, slack, standin, audit_id)
    view = _open(slack, standin, "U0MOD", _moderation(rt).id)
    assert slack.view_submission("U0MOD", view, {"mode": {"answer": "group_meeting"}}).body == ""
    rt.dispatcher.drain()
    mod = _moderation(rt)
    assert (mod.status, mod.grade, mod.changes, mod.mode) == ("done", "good", {}, "group_meeting")
    for person in ("U0PRAC", "U0TM", "U0AUD"):
        assert "QA-2027-01-001: moderated, overall Good (agreed)." in _texts(standin, person)
    [event] = _events(rt, "moderation.recorded")
    assert (event.detail["agreed"], event.detail["changed"]) == (len(FORM.domains) + 1, 0)


@freeze_time(MONDAY_10, tick=True)
def test_changing_a_grade_tells_the_three_people_and_updates_the_earlier_message(
    rt, standin, slack, audit_id, moderators
):
    _submit(rt, slack, standin, audit_id)
    view = _open(slack, standin, "U0MOD", _moderation(rt).id)
    typed = {
        OVERALL: {"answer": "requires_improvement"},
        f"{OVERALL}_rationale": {"answer": CHANGED_WORDS},
        f"{DOMAIN}_rationale": {"answer": "Agreed, the assessment was thorough."},
    }
    assert slack.view_submission("U0MOD", view, typed).body == ""
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        mod = db.scalar(select(Moderation))
        audit = db.get(Audit, audit_id)
        # The auditor's grade stays on the audit; the moderated one is on the moderation.
        assert (audit.status, audit.overall_grade, mod.grade) == ("moderated", "good", "requires_improvement")
        assert mod.changes == {OVERALL: {"from": "good", "to": "requires_improvement", "rationale": CHANGED_WORDS}}
        originals = {
            slack_id: db.scalar(
                select(OutboxMessage.ts).where(OutboxMessage.key == f"audit:{audit_id}:submitted:{person_id}")
            )
            for slack_id, person_id in db.execute(
                select(Person.slack_user_id, Person.id).where(Person.slack_user_id.in_(["U0PRAC", "U0TM"]))
            )
        }
    for person in ("U0PRAC", "U0TM", "U0AUD"):
        [alert] = [c for c in standin.posted(person) if "moderated, overall" in c.args["text"]]
        assert alert.args["text"] == "QA-2027-01-001: moderated, overall Requires Improvement (changed from Good)."
        assert CHANGED_WORDS in str(alert.args["blocks"])
    for person, ts in originals.items():
        updated = standin.message(ts)
        assert "Moderated: Requires Improvement (changed from Good)" in updated["text"], person
        assert CHANGED_WORDS not in str(updated)
    # The moderator's own message loses its button; no channel ever sees the rationale.
    assert all(CHANGED_WORDS not in str(c.args) for c in standin.posted("C0QATEAM"))
    assert all(
        CHANGED_WORDS not in str(c.args)
        for c in standin.calls
        if c.method == "chat.update" and c.ok and c.args.get("channel", "").startswith("C")
    )
    [event] = _events(rt, "moderation.recorded")
    assert (event.detail["agreed"], event.detail["changed"]) == (len(FORM.domains), 1)


@freeze_time(MONDAY_10, tick=True)
def test_a_double_submit_decides_once(rt, standin, slack, audit_id, moderators):
    _submit(rt, slack, standin, audit_id)
    view = _open(slack, standin, "U0MOD", _moderation(rt).id)
    assert slack.view_submission("U0MOD", view, {}).body == ""
    second = slack.view_submission("U0MOD", view | {"id": "V0SECOND"}, {}).json()
    assert "QA-2027-01-001 has already been moderated" in str(second["errors"])
    rt.dispatcher.drain()
    assert len(_events(rt, "moderation.recorded")) == 1
    assert sum("moderated, overall" in t for t in _texts(standin, "U0PRAC")) == 1
    assert _open(slack, standin, "U0MOD", _moderation(rt).id) is None
    assert "already been moderated" in standin.responses[-1].body["text"]


def _sweep(rt, at):
    """The QA team's lists and the digests as of `at`; returns the moderations reminded in them."""
    before = len(_events(rt, "moderation.reminded"))
    with freeze_time(at), rt.database.unit_of_work() as db:
        moderation.list_for_qa(db, rt.calendar, rt.settings)
        digests.send_digests(db, rt.calendar, rt.settings)
    with freeze_time(at):
        rt.dispatcher.drain()
    return len(_events(rt, "moderation.reminded")) - before


def _digest_lines(standin, to):
    """Each item of the digests sent to `to`, as shown."""
    return [
        b["text"]["text"]
        for c in standin.posted(to)
        if c.args["text"].startswith("Your reminders for")
        for b in c.args["blocks"][1:]
        if b["type"] == "section"
    ]


def test_reminders_once_a_working_day_and_the_late_list(rt, standin, slack, audit_id, moderators):
    assert {"moderation-lists", "digests"} <= {job.name for job in SWEEPS}
    with freeze_time(MONDAY_10, tick=True):
        _submit(rt, slack, standin, audit_id)
    at = lambda d, h=10: datetime(2027, 1, 1, h, tzinfo=LONDON).replace(month=d[0], day=d[1])  # noqa: E731
    assert _sweep(rt, at((1, 26))) == 0  # due Friday 29th: not yet within two working days
    assert _sweep(rt, at((1, 27))) == 1
    assert _sweep(rt, at((1, 27), 15)) == 0  # once a day
    assert _sweep(rt, at((1, 28))) == 1
    assert _sweep(rt, at((1, 30))) == 0  # Saturday
    assert _sweep(rt, at((2, 1))) == 1
    assert _sweep(rt, at((2, 1), 14)) == 0
    assert len(_texts(standin, "U0MOD")) == 1 + 3  # told it was assigned; then a digest each of the three days
    assert _digest_lines(standin, "U0MOD") == [
        ":alarm_clock: *QA-2027-01-001* — the moderation is due 29 Jan 2027, 17:30.",
        ":alarm_clock: *QA-2027-01-001* — the moderation is due 29 Jan 2027, 17:30.",
        ":warning: *QA-2027-01-001* — the moderation was due 29 Jan 2027, 17:30.",
    ]
    last = standin.posted("U0MOD")[-1].args["blocks"]
    assert [(e["action_id"], e["value"]) for b in last if b["type"] == "actions" for e in b["elements"]] == [
        ("moderation_open", str(_moderation(rt).id))
    ]
    assert _texts(standin, "C0QATEAM") == ["Late moderations: QA-2027-01-001."]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Event).where(Event.kind == "moderation.reminded")) == 3


def test_an_inadequate_audit_is_reminded_from_the_next_working_day(rt, standin, slack, audit_id, moderators):
    with freeze_time(MONDAY_10, tick=True):
        _submit(rt, slack, standin, audit_id, overall="inadequate")
    assert _sweep(rt, MONDAY_10 + timedelta(hours=1)) == 0  # it was assigned today
    assert _sweep(rt, MONDAY_10 + timedelta(days=1)) == 1
