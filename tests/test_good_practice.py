"""Good practice, through /slack/events: a Good or Outstanding audit is nominated as an example of good practice
by its moderator (a box in the moderation form) or its auditor (a button on their copy of the outcome); one
nomination per audit, into the QA team's learning queue; the QA channel hears the reference, grade and role."""

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.workflow import allocation, good_practice
from bot.workflow.directory import add_person
from bot.workflow.forms import Grade, GradeScale
from bot.workflow.restricted import set_restricted
from store.models import Audit, Case, Nomination, OutboxMessage, Person
from tests.test_disputes import _buttons, _change, _dispute, _moderated, _opened, _the_dispute
from tests.test_moderation import MONDAY_10, OVERALL, _events, _moderation, _open, _submit, _texts

NEEDED = "Please say what others should learn from it: what made the difference for the child."
LESSON = "The worker kept the child's wishes at the centre of every plan review, and the school noticed."
BOX = good_practice.NOMINATE_FIELD
TEXT = good_practice.REASON_FIELD
QA = "C0QATEAM"


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
        add_person(
            db,
            name="Hana Head",
            email="hana@council.example",
            slack_user_id="U0HEAD",
            roles=["qa_head_of_service"],
            team="Quality Assurance",
        )


def _form(rt, slack, standin, audit_id, overall="good"):
    """The auditor grades `overall` and submits; the moderator opens the moderation form."""
    _submit(rt, slack, standin, audit_id, overall=overall)
    return _open(slack, standin, "U0MOD", _moderation(rt).id)


def _ticked(reason=LESSON, **more):
    return {"mode": {"answer": "reflective"}, BOX: {"answer": ["nominate"]}, TEXT: {"answer": reason}, **more}


def _nominations(rt):
    with rt.database.unit_of_work() as db:
        return db.scalars(select(Nomination)).all()


def _outcome(standin, user):
    [alert] = [c for c in standin.posted(user) if "moderated, overall" in c.args["text"]]
    return alert


def _ts(rt, key):
    with rt.database.unit_of_work() as db:
        return db.scalar(select(OutboxMessage.ts).where(OutboxMessage.key == key))


def _nothing_written(rt):
    assert _moderation(rt).status == "pending" and _nominations(rt) == []
    assert not _events(rt, "moderation.recorded") and not _events(rt, "audit.nominated_good_practice")


def _case_ref(rt, audit_id):
    with rt.database.unit_of_work() as db:
        return db.get(Audit, audit_id).case.case_ref


# ----- the moderator --------------------------------------------------------------------------------------------


@freeze_time(MONDAY_10, tick=True)
def test_the_moderator_nominates_in_the_form(rt, standin, slack, audit_id, moderators):
    view = _form(rt, slack, standin, audit_id, overall="outstanding")
    labels = {b.get("block_id"): b["label"]["text"] for b in view["blocks"] if b["type"] == "input"}
    assert labels[TEXT] == "What should others learn from it?"
    [box] = [b["element"]["options"] for b in view["blocks"] if b.get("block_id") == BOX]
    assert box[0]["text"]["text"] == "Nominate as an example of good practice"

    assert slack.view_submission("U0MOD", view, _ticked()).body == ""
    rt.dispatcher.drain()
    mod = _moderation(rt)
    [nomination] = _nominations(rt)
    assert (mod.status, mod.grade) == ("done", "outstanding")
    assert (nomination.audit_id, nomination.nominated_as, nomination.grade) == (audit_id, "moderator", "outstanding")
    assert (nomination.reason, nomination.status, nomination.nominated_by_id) == (LESSON, "queued", mod.moderator_id)
    [event] = _events(rt, "audit.nominated_good_practice")
    assert (event.actor_slack_id, event.subject_id) == ("U0MOD", audit_id)
    assert event.detail == {"nomination_id": nomination.id, "role": "moderator", "grade": "outstanding"}
    assert LESSON not in str(event.detail)

    # The QA channel hears the reference, the grade in words and the role; never what was written, nor the case.
    [told] = [c for c in standin.posted(QA) if "good practice" in c.args["text"]]
    assert told.args["text"] == (
        ":star: QA-2027-01-001 (Outstanding) has been nominated as an example of good practice by its moderator. "
        "It is in the learning queue."
    )
    channel = str([c.args for c in standin.posted(QA)])
    assert LESSON not in channel and _case_ref(rt, audit_id) not in channel and "Mo Derator" not in channel

    # Nobody else can nominate it: the auditor's copy says who did, with no button.
    auditor = _outcome(standin, "U0AUD")
    assert _buttons(auditor) == []
    assert "Nominated as an example of good practice by the moderator on 11 Jan 2027" in str(auditor.args["blocks"])
    for user in ("U0PRAC", "U0TM"):
        assert "good_practice_open" not in str(_outcome(standin, user).args)
    # The moderator's own message says they nominated it.
    updated = standin.message(_ts(rt, f"moderation:{mod.id}:assigned"))
    assert "You nominated it as an example of good practice" in updated["text"]
    assert LESSON not in str([c.args for c in standin.calls if c.method.startswith("chat.")])


@pytest.mark.parametrize("how", ["auditor_graded", "moderator_changed"])
@freeze_time(MONDAY_10, tick=True)
def test_a_requires_improvement_audit_is_refused_on_the_box(rt, standin, slack, audit_id, moderators, how):
    if how == "auditor_graded":
        view = _form(rt, slack, standin, audit_id, overall="requires_improvement")
        typed = _ticked()
    else:
        view = _form(rt, slack, standin, audit_id, overall="good")
        typed = _ticked(
            **{OVERALL: {"answer": "requires_improvement"}, f"{OVERALL}_rationale": {"answer": "Plan drifted."}}
        )
    response = slack.view_submission("U0MOD", view, typed).json()
    assert response == {
        "response_action": "errors",
        "errors": {
            BOX: "Only an audit graded Good or Outstanding can be nominated as an example of good practice: "
            "the moderated overall grade of QA-2027-01-001 is Requires Improvement."
        },
    }
    _nothing_written(rt)


@freeze_time(MONDAY_10, tick=True)
def test_the_moderator_says_what_others_should_learn(rt, standin, slack, audit_id, moderators):
    view = _form(rt, slack, standin, audit_id)
    response = slack.view_submission("U0MOD", view, _ticked(reason="  ")).json()
    assert response["errors"] == {TEXT: NEEDED}
    # Words typed without the box ticked would be lost: the box is asked for.
    typed = {"mode": {"answer": "reflective"}, TEXT: {"answer": LESSON}}
    response = slack.view_submission("U0MOD", view, typed).json()
    assert response["errors"] == {
        BOX: "Tick this box to nominate it as an example of good practice, or clear what others should learn from it."
    }
    # Refused with the moderation's own errors at once, not one round after another.
    response = slack.view_submission("U0MOD", view, _ticked(reason="", mode={"answer": None})).json()
    assert set(response["errors"]) == {"mode", TEXT}
    _nothing_written(rt)


@freeze_time(MONDAY_10, tick=True)
def test_personal_details_in_the_moderators_words_are_refused(rt, standin, slack, audit_id, moderators):
    view = _form(rt, slack, standin, audit_id)
    response = slack.view_submission("U0MOD", view, _ticked(reason="Visited the family at RH12 1AB.")).json()
    assert list(response["errors"]) == [TEXT] and "postcode (RH12 1AB)" in response["errors"][TEXT]
    case_ref = _case_ref(rt, audit_id)
    response = slack.view_submission("U0MOD", view, _ticked(reason=f"See {case_ref} for the plan.")).json()
    assert list(response["errors"]) == [TEXT] and case_ref in response["errors"][TEXT]
    _nothing_written(rt)


@freeze_time(MONDAY_10, tick=True)
def test_moderating_without_the_box_nominates_nothing(rt, standin, slack, audit_id, moderators):
    view = _form(rt, slack, standin, audit_id)
    assert slack.view_submission("U0MOD", view, {"mode": {"answer": "reflective"}}).body == ""
    rt.dispatcher.drain()
    assert _moderation(rt).status == "done" and _nominations(rt) == []
    assert not any("good practice" in t for t in _texts(standin, QA))


# ----- the auditor ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "offered"),
    [("outstanding", True), ("good", True), ("requires_improvement", False), ("inadequate", False)],
)
@freeze_time(MONDAY_10, tick=True)
def test_the_auditors_button_only_for_good_or_outstanding(rt, standin, slack, audit_id, moderators, grade, offered):
    moderation_id = _moderated(rt, slack, standin, audit_id, grade)
    expected = [("good_practice_open", str(audit_id))] if offered else []
    assert _buttons(_outcome(standin, "U0AUD")) == expected
    # The practitioner and team manager may dispute; they never nominate.
    for user in ("U0PRAC", "U0TM"):
        assert _buttons(_outcome(standin, user)) == [("dispute_open", str(moderation_id))]


@freeze_time(MONDAY_10, tick=True)
def test_the_auditor_nominates(rt, standin, slack, audit_id, moderators):
    _moderated(rt, slack, standin, audit_id, "good")
    view = _opened(slack, standin, "U0AUD", "good_practice_open", audit_id)
    assert (view["callback_id"], view["private_metadata"]) == ("good_practice_form", str(audit_id))
    assert "*QA-2027-01-001* was moderated *Good*" in str(view["blocks"])
    response = slack.view_submission("U0AUD", view, {"reason": {"answer": ""}}).json()
    assert response["errors"] == {"reason": NEEDED}
    response = slack.view_submission("U0AUD", view, {"reason": {"answer": "Ring 07700 900123 for details."}}).json()
    assert list(response["errors"]) == ["reason"] and "07700 900123" in response["errors"]["reason"]
    assert _nominations(rt) == []

    assert slack.view_submission("U0AUD", view, {"reason": {"answer": LESSON}}).body == ""
    rt.dispatcher.drain()
    [nomination] = _nominations(rt)
    assert (nomination.nominated_as, nomination.grade, nomination.reason) == ("auditor", "good", LESSON)
    [event] = _events(rt, "audit.nominated_good_practice")
    assert (event.actor_slack_id, event.detail["role"], event.detail["grade"]) == ("U0AUD", "auditor", "good")
    [told] = [t for t in _texts(standin, QA) if "good practice" in t]
    assert told == (
        ":star: QA-2027-01-001 (Good) has been nominated as an example of good practice by its auditor. "
        "It is in the learning queue."
    )
    channel = str([c.args for c in standin.posted(QA)])
    assert LESSON not in channel and _case_ref(rt, audit_id) not in channel and "Amira" not in channel
    # The auditor's outcome message loses its button and says they nominated it.
    with rt.database.unit_of_work() as db:
        auditor_id = db.scalar(select(Person.id).where(Person.slack_user_id == "U0AUD"))
    updated = standin.message(_ts(rt, f"moderation:{_moderation(rt).id}:outcome:{auditor_id}"))
    assert not [b for b in updated["blocks"] if b["type"] == "actions"]
    assert "Nominated as an example of good practice by you on 11 Jan 2027" in str(updated["blocks"])
    assert "has been moderated by Mo Derator" in str(updated["blocks"])


@freeze_time(MONDAY_10, tick=True)
def test_only_the_auditor_nominates(rt, standin, slack, audit_id, moderators):
    _moderated(rt, slack, standin, audit_id, "good")
    for user in ("U0PRAC", "U0MOD", "U0QA"):
        assert _opened(slack, standin, user, "good_practice_open", audit_id) is None
        assert "Only the auditor of QA-2027-01-001 can do this" in standin.responses[-1].body["text"]
    # A forged submission is refused the same way.
    view = _opened(slack, standin, "U0AUD", "good_practice_open", audit_id)
    response = slack.view_submission("U0PRAC", view, {"reason": {"answer": LESSON}}).json()
    assert "Only the auditor of QA-2027-01-001" in response["errors"]["reason"]
    assert [e.actor_slack_id for e in _events(rt, "refused.good_practice_open")] == ["U0PRAC", "U0MOD", "U0QA"]
    assert [e.actor_slack_id for e in _events(rt, "refused.good_practice_nominate")] == ["U0PRAC"]
    # An unknown audit is refused without a trace of it.
    assert _opened(slack, standin, "U0AUD", "good_practice_open", 9999) is None
    assert "couldn't find that audit" in standin.responses[-1].body["text"]
    assert _nominations(rt) == []


@freeze_time(MONDAY_10, tick=True)
def test_a_second_nomination_is_refused_saying_who_and_when(rt, standin, slack, audit_id, moderators):
    view = _form(rt, slack, standin, audit_id)
    assert slack.view_submission("U0MOD", view, _ticked()).body == ""
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        at = db.scalar(select(Nomination.nominated_at))
    when = f"on 11 Jan 2027, {at.astimezone(MONDAY_10.tzinfo):%H:%M}"
    # An old or forged click on the auditor's button:
    assert _opened(slack, standin, "U0AUD", "good_practice_open", audit_id) is None
    assert standin.responses[-1].body["text"] == (
        "QA-2027-01-001 was already nominated as an example of good practice by Mo Derator (moderator) "
        f"{when}. It is in the QA team's learning queue."
    )
    [refused] = _events(rt, "refused.good_practice_open")
    assert refused.detail["reason"] == "good_practice_already"
    assert len(_nominations(rt)) == 1


@freeze_time(MONDAY_10, tick=True)
def test_a_double_submission_acts_once(rt, standin, slack, audit_id, moderators):
    _moderated(rt, slack, standin, audit_id, "good")
    first = _opened(slack, standin, "U0AUD", "good_practice_open", audit_id)
    second = _opened(slack, standin, "U0AUD", "good_practice_open", audit_id)  # the form opened twice
    assert slack.view_submission("U0AUD", first, {"reason": {"answer": LESSON}}).body == ""
    # Slack delivers the same submission again: claimed already, nothing happens.
    assert slack.view_submission("U0AUD", first, {"reason": {"answer": LESSON}}).body == ""
    # The other form: refused on its field, saying who nominated it and when.
    response = slack.view_submission("U0AUD", second, {"reason": {"answer": "Another lesson."}}).json()
    assert (
        "already nominated as an example of good practice by Amira Auditor (auditor) on 11 Jan 2027"
        in (response["errors"]["reason"])
    )
    rt.dispatcher.drain()
    [nomination] = _nominations(rt)
    assert nomination.reason == LESSON
    assert len(_events(rt, "audit.nominated_good_practice")) == 1
    assert sum("good practice" in t for t in _texts(standin, QA)) == 1


@freeze_time(MONDAY_10, tick=True)
def test_a_nomination_that_went_in_first_is_not_duplicated(rt, standin, slack, audit_id, moderators, monkeypatch):
    """Two nominations in flight at once both pass the check; the insert cannot duplicate, and the one that did
    not go in is refused (no IntegrityError, nothing half-written). Its form had closed: the refusal is told in the
    auditor's DM."""
    _moderated(rt, slack, standin, audit_id, "good")
    first = _opened(slack, standin, "U0AUD", "good_practice_open", audit_id)
    second = _opened(slack, standin, "U0AUD", "good_practice_open", audit_id)
    assert slack.view_submission("U0AUD", first, {"reason": {"answer": LESSON}}).body == ""
    # The second one's check ran before the first's row was there to see:
    real, missed = good_practice.nomination_of, []

    def not_seen_yet(db, audit):
        if not missed:
            missed.append(audit)
            return None
        return real(db, audit)

    monkeypatch.setattr(good_practice, "nomination_of", not_seen_yet)
    assert slack.view_submission("U0AUD", second, {"reason": {"answer": "Another lesson."}}).body == ""
    assert missed == [audit_id]
    told = standin.last("chat.postEphemeral")
    assert told.args["user"] == "U0AUD"
    assert "already nominated as an example of good practice by Amira Auditor" in told.args["text"]
    rt.dispatcher.drain()
    assert [n.reason for n in _nominations(rt)] == [LESSON]
    assert len(_events(rt, "audit.nominated_good_practice")) == 1
    assert sum("good practice" in t for t in _texts(standin, QA)) == 1


@freeze_time(MONDAY_10, tick=True)
def test_a_dispute_that_lowered_the_grade_takes_the_button_away(rt, standin, slack, audit_id, moderators):
    moderation_id = _moderated(rt, slack, standin, audit_id, "good")
    assert _buttons(_outcome(standin, "U0AUD")) == [("good_practice_open", str(audit_id))]
    _dispute(rt, slack, standin, "U0PRAC", moderation_id)
    assert _change(rt, slack, standin, "U0HEAD", _the_dispute(rt).id, "requires_improvement").body == ""
    assert _opened(slack, standin, "U0AUD", "good_practice_open", audit_id) is None
    assert standin.responses[-1].body["text"] == (
        "Only an audit graded Good or Outstanding can be nominated as an example of good practice: "
        "the moderated overall grade of QA-2027-01-001 is Requires Improvement."
    )
    assert _nominations(rt) == []


@freeze_time(MONDAY_10, tick=True)
def test_a_restricted_record_is_never_nominated(rt, standin, slack, audit_id, moderators):
    with rt.database.unit_of_work() as db:
        set_restricted(db, db.get(Audit, audit_id).case.case_ref, True, [], via="test")
    view = _form(rt, slack, standin, audit_id)
    assert BOX not in {b.get("block_id") for b in view["blocks"]}
    # A forged tick is refused all the same.
    label = {"type": "plain_text", "text": "x"}
    box = {"type": "checkboxes", "action_id": "answer", "options": [{"text": label, "value": "nominate"}]}
    text = {"type": "plain_text_input", "action_id": "answer"}
    forged = view | {
        "blocks": [
            *view["blocks"],
            {"type": "input", "block_id": BOX, "label": label, "element": box},
            {"type": "input", "block_id": TEXT, "label": label, "element": text},
        ]
    }
    response = slack.view_submission("U0MOD", forged, _ticked()).json()
    assert response["errors"] == {
        BOX: "QA-2027-01-001 is a restricted record, so it can't be put forward as an example of good practice. "
        "Please contact the QA team."
    }
    _nothing_written(rt)
    assert slack.view_submission("U0MOD", view, {"mode": {"answer": "reflective"}}).body == ""
    rt.dispatcher.drain()
    assert _buttons(_outcome(standin, "U0AUD")) == []
    assert _opened(slack, standin, "U0AUD", "good_practice_open", audit_id) is None
    assert "restricted record, so it can't be put forward" in standin.responses[-1].body["text"]
    assert _nominations(rt) == []


@freeze_time(MONDAY_10, tick=True)
def test_a_record_restricted_after_the_outcome_is_refused(rt, standin, slack, audit_id, moderators):
    _moderated(rt, slack, standin, audit_id, "outstanding")
    assert _buttons(_outcome(standin, "U0AUD")) == [("good_practice_open", str(audit_id))]
    with rt.database.unit_of_work() as db:
        set_restricted(db, db.get(Audit, audit_id).case.case_ref, True, [], via="test")
    assert _opened(slack, standin, "U0AUD", "good_practice_open", audit_id) is None
    assert "QA-2027-01-001 is a restricted record" in standin.responses[-1].body["text"]
    [event] = _events(rt, "refused.good_practice_open")
    assert event.detail["reason"] == "good_practice_restricted"


# ----- the learning queue ---------------------------------------------------------------------------------------


def _home(slack, standin, user):
    slack.app_home_opened(user)
    return str(standin.home(user)["blocks"])


@freeze_time(MONDAY_10, tick=True)
def test_the_qa_team_sees_the_learning_queue_on_their_home(rt, standin, slack, audit_id, moderators):
    assert "*Good practice nominated:* none waiting in the learning queue." in _home(slack, standin, "U0QA")
    view = _form(rt, slack, standin, audit_id)
    assert slack.view_submission("U0MOD", view, _ticked()).body == ""
    assert "*Good practice nominated:* 1 waiting in the learning queue." in _home(slack, standin, "U0QA")
    assert "1 waiting in the learning queue" in _home(slack, standin, "U0HEAD")  # the QA Head of Service
    for user in ("U0PRAC", "U0AUD", "U0MOD"):
        assert "learning queue" not in _home(slack, standin, user), user


def test_the_queue_is_the_queued_nominations_oldest_first(rt, world):
    with rt.database.unit_of_work() as db:
        amira = db.get(Person, world.people["amira"])
        cases = db.scalars(select(Case).order_by(Case.id)).all()
        audits = [allocation.allocate(db, rt.calendar, rt.settings, case, amira, "2027-01") for case in cases]
        db.flush()
        for audit, days, status in zip(audits, (1, 3, 2), ("queued", "queued", "used"), strict=True):
            db.add(
                Nomination(
                    audit_id=audit.id,
                    nominated_by_id=amira.id,
                    nominated_as="auditor",
                    grade="good",
                    reason=LESSON,
                    nominated_at=MONDAY_10 - timedelta(days=days),
                    status=status,
                )
            )
    with rt.database.unit_of_work() as db:
        assert [n.audit_id for n in good_practice.queue(db)] == [audits[1].id, audits[0].id]
        assert db.scalar(select(func.count()).select_from(Nomination)) == 3


def test_good_and_outstanding_are_the_scales_two_best():
    scale = GradeScale("test", (Grade("gold", "Gold"), Grade("silver", "Silver"), Grade("bronze", "Bronze")))
    assert good_practice.eligible(scale) == ("gold", "silver")
