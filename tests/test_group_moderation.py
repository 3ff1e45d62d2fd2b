"""Step 6, the group moderators' meeting, through /slack/events: the QA team gathers the month's audits waiting for
moderation into a meeting (`/qa group`) with a date and an independent chair; each moves from its moderator to the
chair, whose one message follows the outcomes as they are recorded, and the QA team hears the meeting's totals."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.workflow import allocation, group_moderation
from bot.workflow.directory import add_person
from scheduler.jobs import tick
from store.models import Audit, Case, Event, Moderation, ModerationSession, OutboxMessage, Person
from tests.test_audit_form import FORM, _walk

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
MEETING = "2027-01-18"  # the Monday after
OVERALL = FORM.overall.id
CHANGED_WORDS = "The plan was never reviewed with the school."
PRIYAS, CARAS = "QA-2027-01-001", "QA-2027-01-002"


@pytest.fixture
def audits(rt, standin, slack, world, audit_id):
    """Two submitted audits waiting for moderation: Priya's (Good; moderated by Mo) and Cara's (Inadequate, in
    another team; moderated by Fay, who works in Priya's team). Cam moderates too, in Cara's team."""
    with rt.database.unit_of_work() as db:
        for name, email, slack_id, roles, team, manager in (
            ("Fay Close", "fay", "U0FAY", ["moderator"], "Family Support North", None),
            ("Mo Derator", "mo", "U0MOD", ["moderator"], "Quality Assurance", None),
            ("Tess Teamlead", "tess", "U0TESS", ["team_manager"], "Children We Care For", "sara@council.example"),
            ("Cara Carer", "cara", "U0CARA", ["practitioner"], "Children We Care For", "tess@council.example"),
            ("Cam Carer", "cam", "U0CAM", ["moderator"], "Children We Care For", "tess@council.example"),
        ):
            add_person(
                db,
                name=name,
                email=f"{email}@council.example",
                slack_user_id=slack_id,
                roles=roles,
                team=team,
                manager_email=manager,
            )
        cara = db.scalar(select(Person).where(Person.slack_user_id == "U0CARA"))
        case = Case(case_ref="CS-200001", category="CIN", worker=cara, team=cara.team, month="2027-01")
        db.add(case)
        db.flush()
        case_id = case.id
    with freeze_time(MONDAY_10 - timedelta(days=7)), rt.database.unit_of_work() as db:
        amira = db.get(Person, world.people["amira"])
        second = allocation.allocate(db, rt.calendar, rt.settings, db.get(Case, case_id), amira, "2027-01")
        second.status = "in_progress"
        second.meeting_at = MONDAY_10 - timedelta(days=3)
        second.family_feedback = {"how": "visit", "child_voice": "Likes the new home.", "family_view": "Heard."}
        second_id = second.id
    # Submitted a little before the tests' own frozen clock starts, so that clock never runs backwards.
    with freeze_time(MONDAY_10 - timedelta(minutes=10), tick=True):
        _submit(rt, slack, standin, audit_id, "good", "U0PRAC")
        _submit(rt, slack, standin, second_id, "inadequate", "U0CARA")
    mods = _moderations(rt)
    assert [m.moderator for m in mods.values()] == ["U0MOD", "U0FAY"]
    return mods


def _submit(rt, slack, standin, audit_id, overall, owner):
    view = _walk(slack, standin, audit_id, overall=overall)
    due = (MONDAY_10 + timedelta(weeks=1)).date().isoformat()
    action = {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": owner}, "due_1": {"answer": due}}
    assert slack.view_submission("U0AUD", view, action).body == ""
    rt.dispatcher.drain()


class Mod:
    def __init__(self, moderation: Moderation, moderator: str | None):
        self.id, self.status, self.mode, self.session_id = (
            moderation.id,
            moderation.status,
            moderation.mode,
            moderation.session_id,
        )
        self.moderator = moderator


def _moderations(rt) -> dict[str, Mod]:
    """The moderations by QA reference, with their moderator's Slack id."""
    with rt.database.unit_of_work() as db:
        rows = db.execute(
            select(Audit.qa_ref, Moderation, Person.slack_user_id)
            .join(Moderation, Moderation.audit_id == Audit.id)
            .outerjoin(Person, Person.id == Moderation.moderator_id)
            .order_by(Audit.qa_ref)
        ).all()
        return {ref: Mod(m, slack_id) for ref, m, slack_id in rows}


def _open_group(slack, standin, user="U0QA", text="group 2027-01"):
    before = len([c for c in standin.calls if c.method == "views.open"])
    assert slack.command(user, "/qa", text).status == 200
    opened = [c for c in standin.calls if c.method == "views.open"]
    return opened[-1].response["view"] if len(opened) > before else None


def _arrange(rt, slack, standin, chair="U0QA"):
    view = _open_group(slack, standin)
    assert slack.view_submission("U0QA", view, {"held_on": {"day": MEETING}, "chair": {"chair": chair}}).body == ""
    rt.dispatcher.drain()
    return view


def _events(rt, kind):
    with rt.database.unit_of_work() as db:
        return db.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)).all()


def _sent(rt, key) -> str | None:
    """The ts of the message sent under an outbox key."""
    with rt.database.unit_of_work() as db:
        return db.scalar(select(OutboxMessage.ts).where(OutboxMessage.key == key))


def _chair_message(rt, standin):
    with rt.database.unit_of_work() as db:
        session_id = db.scalar(select(ModerationSession.id))
    return standin.message(_sent(rt, f"moderation-session:{session_id}:chair"))


def _buttons(message):
    return [
        (b["accessory"]["action_id"], b["accessory"]["value"])
        for b in message["blocks"]
        if b.get("accessory", {}).get("type") == "button"
    ]


def _record(slack, standin, user, moderation_id, values=None):
    slack.block_action(user, "moderation_open", str(moderation_id))
    view = standin.last("views.open").response["view"]
    return view, slack.view_submission(user, view, values or {})


def _summaries(standin):
    return [c.args["text"] for c in standin.posted("C0QATEAM") if "group moderation meeting" in c.args["text"].lower()]


@freeze_time(MONDAY_10, tick=True)
def test_only_the_qa_team_arranges_a_group_meeting(rt, standin, slack, audits):
    assert _open_group(slack, standin, user="U0MOD") is None
    answer = standin.responses[-1].body
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Only the QA team can arrange a group moderation meeting.")
    # A submission of the QA team's form by anyone else is refused too, on the form.
    view = _open_group(slack, standin)
    response = slack.view_submission("U0MOD", view, {}).json()
    assert response["response_action"] == "errors"
    assert response["errors"]["audits"].startswith("Only the QA team can arrange a group moderation meeting.")
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(ModerationSession)) == 0
    assert [e.actor_slack_id for e in _events(rt, "refused.group_moderation")] == ["U0MOD", "U0MOD"]
    assert _moderations(rt)[PRIYAS].moderator == "U0MOD"


@freeze_time(MONDAY_10, tick=True)
def test_a_month_with_nothing_waiting_says_so(rt, standin, slack, world):
    assert _open_group(slack, standin, text="group") is None  # this month
    assert standin.responses[-1].body["response_type"] == "ephemeral"
    assert standin.responses[-1].body["text"] == (
        "No audit of January 2027 is waiting for moderation outside a group meeting already arranged, "
        "so there is nothing to gather."
    )
    assert _open_group(slack, standin, text="group 2027-02") is None
    assert "No audit of February 2027 is waiting" in standin.responses[-1].body["text"]
    assert _open_group(slack, standin, text="group January") is None
    assert "YYYY-MM" in standin.responses[-1].body["text"]
    slack.command("U0QA", "/qa", "help")
    assert "/qa group [YYYY-MM]" in str(standin.responses[-1].body["blocks"])


@freeze_time(MONDAY_10, tick=True)
def test_the_form_lists_the_months_waiting_moderations(rt, standin, slack, audits):
    view = _open_group(slack, standin)
    assert view["callback_id"] == "group_moderation_form" and view["private_metadata"] == "2027-01"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    chosen = blocks["audits"]["element"]
    assert chosen["type"] == "multi_static_select"
    # Inadequate first, marked urgent; the grades in words; every one chosen.
    assert [(o["text"]["text"], o["value"]) for o in chosen["options"]] == [
        (f"{CARAS} · Inadequate · urgent", str(audits[CARAS].id)),
        (f"{PRIYAS} · Good", str(audits[PRIYAS].id)),
    ]
    assert chosen["initial_options"] == chosen["options"]
    assert blocks["held_on"]["element"] == {"type": "datepicker", "action_id": "day", "initial_date": "2027-01-11"}
    assert blocks["chair"]["element"] == {"type": "users_select", "action_id": "chair", "initial_user": "U0QA"}
    assert "2 audits are waiting for moderation (1 graded Inadequate: urgent)" in str(view["blocks"][0])
    # QA references only: no case-system id, no practitioner.
    assert "CS-" not in str(view) and "Priya" not in str(view) and "Cara" not in str(view)

    # Once moderated, an audit is no longer listed.
    _, done = _record(slack, standin, "U0MOD", audits[PRIYAS].id)
    assert done.body == ""
    view = _open_group(slack, standin)
    options = [o["value"] for b in view["blocks"] if b.get("block_id") == "audits" for o in b["element"]["options"]]
    assert options == [str(audits[CARAS].id)]


def test_a_meeting_takes_at_most_forty_the_most_urgent_first(rt, standin, slack, world):
    with freeze_time(MONDAY_10), rt.database.unit_of_work() as db:
        for n in range(1, 44):
            audit = Audit(
                qa_ref=f"QA-2027-01-{n:03d}",
                case_id=world.case_id,
                month="2027-01",
                category="CP",
                status="awaiting_moderation",
                allocated_at=MONDAY_10,
                overall_grade="inadequate" if n in (30, 43) else "good",
                auditor_id=world.people["amira"],
                practitioner_id=world.people["priya"],
            )
            db.add(audit)
            db.flush()
            # All due at month end, the latest-numbered first: the order is by deadline, then reference.
            due = datetime(2027, 1, 29, 17, 30, tzinfo=LONDON) - timedelta(minutes=n)
            db.add(Moderation(audit_id=audit.id, moderator_id=None, status="pending", due_at=due))
    with freeze_time(MONDAY_10, tick=True):
        view = _open_group(slack, standin)
    [chosen] = [b["element"] for b in view["blocks"] if b.get("block_id") == "audits"]
    texts = [o["text"]["text"] for o in chosen["options"]]
    assert len(texts) == group_moderation.MAX_AUDITS == 40 and chosen["initial_options"] == chosen["options"]
    assert texts[:3] == [
        "QA-2027-01-043 · Inadequate · urgent",
        "QA-2027-01-030 · Inadequate · urgent",
        "QA-2027-01-042 · Good",
    ]
    assert "QA-2027-01-001 · Good" not in texts and "QA-2027-01-004 · Good" in texts
    assert "43 audits are waiting for moderation (2 graded Inadequate: urgent)" in str(view["blocks"][0])
    assert "A meeting takes at most 40 audits: the 40 most urgent are listed. 3 others wait" in str(view["blocks"][1])
    # More than a meeting takes cannot be chosen in one.
    with freeze_time(MONDAY_10), rt.database.unit_of_work() as db:
        ids = list(db.scalars(select(Moderation.id)))
        outcome = group_moderation.arrange(
            db, rt.calendar, rt.settings, "U0QA", "2027-01", ids, date(2027, 1, 18), "U0QA"
        )
    assert outcome.detail["errors"] == {"audits": {"reason": "group_too_many", "limit": 40, "chosen": 43}}
    # Those nobody could be assigned to go to a meeting too: there is no earlier message to update.
    with freeze_time(MONDAY_10), rt.database.unit_of_work() as db:
        outcome = group_moderation.arrange(
            db, rt.calendar, rt.settings, "U0QA", "2027-01", ids[:2], date(2027, 1, 18), "U0QA"
        )
        assert outcome.ok
        keys = db.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like("moderation%"))).all()
    assert keys == [f"moderation-session:{outcome.detail['session_id']}:chair"]
    assert [e.detail["from_moderator_id"] for e in _events(rt, "moderation.moved_to_session")] == [None, None]


@freeze_time(MONDAY_10, tick=True)
def test_the_form_is_checked_field_by_field(rt, standin, slack, audits):
    view = _open_group(slack, standin)

    def errors(**values):
        return slack.view_submission("U0QA", view, values).json()["errors"]

    independence = (
        ": the chair must not be an audit's auditor, practitioner or team manager, nor in the practitioner's team"
        " or line."
    )
    # Fay works in Priya's team; Cam in Cara's: each is named with the audit they cannot moderate.
    assert errors(chair={"chair": "U0FAY"}) == {
        "chair": f"Fay Close cannot moderate {PRIYAS}{independence} Please choose another chair, or untick that audit."
    }
    assert errors(chair={"chair": "U0CAM"})["chair"].startswith(f"Cam Carer cannot moderate {CARAS}:")
    # Unticking the audit Fay cannot moderate leaves her free to chair: only what is chosen counts.
    only_caras = {"audits": {"audits": [str(audits[CARAS].id)]}, "held_on": {"day": "2027-01-08"}}
    assert errors(chair={"chair": "U0FAY"}, **only_caras) == {
        "held_on": "That date has passed. Please choose today or a date still to come."
    }
    # Amira audited both; Tom is a team manager, not a moderator; U0NOBODY is not in the directory.
    assert errors(chair={"chair": "U0AUD"}) == {
        "chair": "Amira Auditor is not a moderator or in the QA team. Please choose someone who is."
    }
    with rt.database.unit_of_work() as db:
        amira = db.get(Person, db.scalar(select(Person.id).where(Person.slack_user_id == "U0AUD")))
        amira.active = False
    # (The same answers again would be the same request, acknowledged once: the day changes so it is a new one.)
    left = errors(chair={"chair": "U0AUD"}, held_on={"day": "2027-01-19"})
    assert left == {
        "chair": "That person is not in qabot's staff directory (or has left). "
        "Please choose a moderator or a member of the QA team."
    }
    assert "Tom Teamlead is not a moderator or in the QA team" in errors(chair={"chair": "U0TM"})["chair"]
    assert "not in qabot's staff directory" in errors(chair={"chair": "U0NOBODY"})["chair"]
    # Several fields at once: no audits, a Saturday.
    assert errors(audits={"audits": []}, held_on={"day": "2027-01-16"}) == {
        "audits": "Please choose at least one audit for the meeting.",
        "held_on": "Saturday 16 January 2027 is not a working day (a weekend or bank holiday). "
        "Please choose another date.",
    }
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(ModerationSession)) == 0
    assert {m.moderator for m in _moderations(rt).values()} == {"U0MOD", "U0FAY"}
    assert not _events(rt, "moderation.session_arranged")


@freeze_time(MONDAY_10, tick=True)
def test_arranging_moves_each_audit_to_the_chair(rt, standin, slack, audits):
    assigned = {ref: _sent(rt, f"moderation:{m.id}:assigned") for ref, m in audits.items()}
    _arrange(rt, slack, standin)  # the defaults: today's opener, Quinn, chairs
    with rt.database.unit_of_work() as db:
        session = db.scalar(select(ModerationSession))
        quinn = db.scalar(select(Person.id).where(Person.slack_user_id == "U0QA"))
        assert (session.month, session.held_on, session.chair_id, session.created_by_id) == (
            "2027-01",
            date(2027, 1, 18),
            quinn,
            quinn,
        )
    moved = _moderations(rt)
    assert {(m.session_id, m.mode, m.moderator, m.status) for m in moved.values()} == {
        (session.id, "group_meeting", "U0QA", "pending")
    }
    # The moderators' "please moderate" messages now say where it went, and lose their button.
    for ref, was in ((PRIYAS, "U0MOD"), (CARAS, "U0FAY")):
        message = standin.message(assigned[ref])
        assert standin.channel_of(assigned[ref]) and message["text"] == (
            f"{ref} has gone to the group moderation meeting on Monday 18 January 2027, chaired by Quinn QA. "
            "Nothing more is needed from you."
        ), was
        assert not [b for b in message["blocks"] if b["type"] == "actions"]
    # The chair hears once, with a "Record outcome" button per audit, the urgent one first.
    [told] = standin.posted("U0QA")
    assert (
        told.args["text"] == "You chair the group moderation meeting on Monday 18 January 2027: 2 audits to moderate."
    )
    assert _buttons(_chair_message(rt, standin)) == [
        ("moderation_open", str(audits[CARAS].id)),
        ("moderation_open", str(audits[PRIYAS].id)),
    ]
    assert ":rotating_light: urgent" in str(told.args["blocks"]) and "CS-" not in str(told.args)
    # The trail: the session, then each audit moved, from whom to whom.
    [arranged] = _events(rt, "moderation.session_arranged")
    assert arranged.actor_slack_id == "U0QA" and arranged.subject_type == "moderation_sessions"
    assert arranged.detail["held_on"] == MEETING and sorted(arranged.detail["refs"]) == [PRIYAS, CARAS]
    with rt.database.unit_of_work() as db:
        ids = {p.slack_user_id: p.id for p in db.scalars(select(Person))}
    trail = [
        (e.detail["moderation_id"], e.detail["from_moderator_id"], e.detail["to_moderator_id"])
        for e in _events(rt, "moderation.moved_to_session")
    ]
    assert sorted(trail) == sorted(
        [(audits[PRIYAS].id, ids["U0MOD"], ids["U0QA"]), (audits[CARAS].id, ids["U0FAY"], ids["U0QA"])]
    )
    # The former moderator's old button is refused; the chair's opens the form, set to the group meeting.
    before = len([c for c in standin.calls if c.method == "views.open"])
    slack.block_action("U0MOD", "moderation_open", str(audits[PRIYAS].id))
    assert len([c for c in standin.calls if c.method == "views.open"]) == before
    assert standin.responses[-1].body["text"] == (
        f"{PRIYAS} has gone to a group moderation meeting, whose chair records its outcome: nothing more is needed "
        "from you. Please contact the QA team if that seems wrong."
    )
    slack.block_action("U0QA", "moderation_open", str(audits[PRIYAS].id))
    form = standin.last("views.open").response["view"]
    assert form["callback_id"] == "moderation_form"
    [mode] = [b for b in form["blocks"] if b.get("block_id") == "mode"]
    assert mode["element"]["initial_option"]["value"] == "group_meeting"
    # Arranged once: the month has nothing left to gather.
    assert _open_group(slack, standin) is None
    assert "nothing to gather" in standin.responses[-1].body["text"]


@freeze_time(MONDAY_10, tick=True)
def test_a_moderator_who_chairs_keeps_the_audit(rt, standin, slack, audits):
    _arrange(rt, slack, standin, chair="U0MOD")  # independent of both audits; Priya's was his already
    assert standin.message(_sent(rt, f"moderation:{audits[PRIYAS].id}:assigned"))["text"] == (
        f"{PRIYAS} has gone to the group moderation meeting on Monday 18 January 2027, which you chair: "
        "record its outcome from the meeting's message."
    )
    assert {m.moderator for m in _moderations(rt).values()} == {"U0MOD"}
    assert [t.args["text"] for t in standin.posted("U0MOD")][-1].startswith("You chair the group moderation meeting")


@freeze_time(MONDAY_10, tick=True)
def test_outcomes_recorded_in_turn_update_the_chairs_message(rt, standin, slack, audits):
    _arrange(rt, slack, standin)
    mo_message = _sent(rt, f"moderation:{audits[PRIYAS].id}:assigned")

    # The urgent one first: every grade agreed.
    _, done = _record(slack, standin, "U0QA", audits[CARAS].id)
    assert done.body == ""
    rt.dispatcher.drain()
    message = _chair_message(rt, standin)
    assert message["text"] == (
        "You chair the group moderation meeting on Monday 18 January 2027: 2 audits to moderate, 1 still to record."
    )
    assert f":white_check_mark: *{CARAS}* · moderated: Inadequate (agreed) · recorded" in str(message["blocks"])
    assert _buttons(message) == [("moderation_open", str(audits[PRIYAS].id))]
    assert _summaries(standin) == []
    assert [t for t in (c.args["text"] for c in standin.posted("U0CARA")) if "moderated" in t] == [
        f"{CARAS}: moderated, overall Inadequate (agreed)."
    ]

    # Then Priya's, with the overall grade changed.
    view, done = _record(
        slack,
        standin,
        "U0QA",
        audits[PRIYAS].id,
        {OVERALL: {"answer": "requires_improvement"}, f"{OVERALL}_rationale": {"answer": CHANGED_WORDS}},
    )
    assert done.body == ""
    # Recorded once: a second submission of the form is refused.
    again = slack.view_submission("U0QA", view | {"id": "V0AGAIN"}, {}).json()
    assert f"{PRIYAS} has already been moderated" in str(again["errors"])
    rt.dispatcher.drain()
    message = _chair_message(rt, standin)
    assert message["text"] == "The group moderation meeting on Monday 18 January 2027 is complete: 2 audits moderated."
    assert _buttons(message) == []
    assert f"*{PRIYAS}* · moderated: Requires Improvement (changed from Good) · recorded" in str(message["blocks"])
    assert CHANGED_WORDS not in str(message)
    assert len(standin.posted("U0QA")) == 1  # updated in place, never posted again
    # The QA team hears the totals once: no references, names or rationale needed.
    assert _summaries(standin) == [
        "Group moderation meeting of Monday 18 January 2027: 2 audits moderated, 1 grade changed."
    ]
    summary = str([c.args for c in standin.posted("C0QATEAM") if "Group moderation" in c.args["text"]])
    assert all(word not in summary for word in ("Priya", "Cara", "Quinn", "CS-", "QA-2027", CHANGED_WORDS))
    # The people on the audit hear the outcome from the chair; the former moderator's message stays as it was.
    assert f"{PRIYAS}: moderated, overall Requires Improvement (changed from Good)." in [
        c.args["text"] for c in standin.posted("U0PRAC")
    ]
    assert standin.message(mo_message)["text"].startswith(f"{PRIYAS} has gone to the group moderation meeting")
    with rt.database.unit_of_work() as db:
        modes = db.scalars(select(Moderation.mode)).all()
    assert modes == ["group_meeting", "group_meeting"]
    assert len(_events(rt, "moderation.recorded")) == 2
    [completed] = _events(rt, "moderation.session_completed")
    assert (completed.detail["audits"], completed.detail["changed"]) == (2, 1)


@freeze_time(MONDAY_10, tick=True)
def test_a_double_submit_arranges_once(rt, standin, slack, audits):
    view = _open_group(slack, standin)
    values = {"held_on": {"day": MEETING}}
    first = slack.view_submission("U0QA", view, values)
    assert first.body == ""
    # Slack's retry of the same submission is acknowledged and does nothing.
    assert slack.view_submission("U0QA", view, values).body == ""
    # The same form submitted from a second window is refused, naming what is no longer waiting.
    second = slack.view_submission("U0QA", view | {"id": "V0SECOND"}, values).json()
    assert second == {
        "response_action": "errors",
        "errors": {
            "audits": f"These are no longer waiting for moderation (moderated, or taken into another group meeting "
            f"since): {PRIYAS}, {CARAS}. Please untick them."
        },
    }
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(ModerationSession)) == 1
    assert len(standin.posted("U0QA")) == 1
    assert len(_events(rt, "moderation.session_arranged")) == 1
    assert len(_events(rt, "moderation.moved_to_session")) == 2


@freeze_time(MONDAY_10, tick=True)
def test_the_chair_is_not_reminded_of_each_audit_and_the_moved_moderator_cannot_record(rt, standin, slack, audits):
    # Fay opens her form; the QA team moves the audit to the meeting before she submits it.
    slack.block_action("U0FAY", "moderation_open", str(audits[CARAS].id))
    fays_form = standin.last("views.open").response["view"]
    _arrange(rt, slack, standin, chair="U0QA")
    response = slack.view_submission("U0FAY", fays_form, {"mode": {"answer": "reflective"}}).json()
    assert response["response_action"] == "errors"
    assert _moderations(rt)[CARAS].status == "pending"
    # The Inadequate audit falls due (and onto the QA team's late list once overdue), but the chair records
    # outcomes at the meeting rather than hearing of each audit every day.
    before = len(standin.posted("U0QA"))
    for day in (13, 14, 15):
        tick(rt, datetime(2027, 1, day, 9, 0, tzinfo=LONDON))
    assert [c.args["text"] for c in standin.posted("U0QA")[before:] if "Reminder" in c.args["text"]] == []
    assert any(f"Late moderations: {CARAS}" in c.args["text"] for c in standin.posted("C0QATEAM"))
