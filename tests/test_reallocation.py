"""`qabot reallocate`: the QA team moves an open audit (a leaver's, or one not accepted) to a named auditor or the
least-loaded eligible one; everyone concerned is told once, the old buttons go, and refusals change nothing."""

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from bot import cli
from bot.workflow import allocation
from bot.workflow.directory import add_person
from scheduler.jobs import tick
from store.models import Audit, Case, Event, Person, PersonRole
from tests.test_allocation import MONDAY_9, _allocate, _request_message

BY_QUINN = ["--by", "quinn@council.example", "--reason", "Auditor has left the council"]


def _buttons(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _moves(rt) -> list[Event]:
    with rt.database.unit_of_work() as db:
        events = list(db.scalars(select(Event).where(Event.kind == "audit.reallocated")))
        db.expunge_all()
        return events


@pytest.fixture
def nia(rt, standin, world):
    """A third auditor, in the QA team: independent of Priya's cases."""
    with rt.database.unit_of_work() as db:
        person = add_person(
            db, name="Nia Newer", email="nia@council.example", slack_user_id="U0NIA", roles=["auditor"],
            team="Quality Assurance", service="Children's Social Care",
        )  # fmt: skip
    standin.add_user("U0NIA", "nia@council.example", "Nia Newer")
    return person.id


@freeze_time(MONDAY_9, tick=True)
def test_a_leavers_accepted_audit_goes_to_the_least_loaded_auditor(rt, standin, slack, world, cli_env, capsys):
    audit_id, ref = _allocate(rt, world, auditor="oliver")
    rt.dispatcher.drain()
    call, message = _request_message(standin, "U0AUD2")
    slack.block_action("U0AUD2", "allocation_accept", str(audit_id), message=message)
    with rt.database.unit_of_work() as db:
        db.get(Person, world.people["oliver"]).active = False  # import-org: Oliver has left
    rt.dispatcher.drain()

    assert cli.main(["reallocate", ref, *BY_QUINN]) == 0
    out = capsys.readouterr().out
    assert f"{ref} moved from Oliver Other to Amira Auditor, who is asked to accept it." in out
    assert "It had been accepted: it is back to allocated until Amira Auditor accepts" in out
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        assert (audit.status, audit.auditor_id, audit.accepted_at) == ("allocated", world.people["amira"], None)
    [event] = _moves(rt)
    assert event.actor_id == world.people["quinn"]
    assert event.detail == {
        "auditor_id": world.people["amira"],
        "previous_auditor_id": world.people["oliver"],
        "reason": "Auditor has left the council",
        "was": "accepted",
    }
    # Sent once, however many times the clock runs.
    for _ in range(2):
        tick(rt, MONDAY_9 + timedelta(minutes=5))
    [asked] = standin.posted("U0AUD")
    assert f"New audit for you: {ref}" in asked.args["text"]
    assert _buttons(standin.message(asked.response["ts"])) == ["allocation_accept", "allocation_decline"]
    # Oliver has left: not messaged, but his message no longer offers anything.
    assert standin.posted("U0AUD2") == [call]
    assert "has been moved to Amira Auditor by Quinn QA" in standin.message(call.response["ts"])["text"]
    assert _buttons(standin.message(call.response["ts"])) == []
    told = standin.posted("U0PRAC")
    assert told[-1].args["text"] == f"The auditor has changed for one of your cases audited in January 2027: {ref}."
    for user in ("U0PRAC", "U0TM", "U0SM"):
        assert len(standin.posted(user)) == 2  # told of the allocation, then once of the change


@freeze_time(MONDAY_9, tick=True)
def test_a_named_auditor_is_asked_and_the_old_auditors_late_accept_is_refused(
    rt, standin, slack, world, nia, cli_env, capsys
):
    audit_id, ref = _allocate(rt, world)
    rt.dispatcher.drain()
    call, message = _request_message(standin)

    assert cli.main(["reallocate", ref.lower(), "--to", "nia@council.example", *BY_QUINN]) == 0
    assert "It had been" not in capsys.readouterr().out  # still only allocated: nothing to undo
    tick(rt, MONDAY_9 + timedelta(minutes=5))  # the command's own delivery paces a second message to a person
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).auditor_id == nia
    [asked] = standin.posted("U0NIA")
    assert f"New audit for you: {ref}" in asked.args["text"]
    # Amira is still here: her request loses its buttons and she is told.
    assert _buttons(standin.message(call.response["ts"])) == []
    told = standin.posted("U0AUD")[-1]
    assert told is not call and "has been moved to Nia Newer by Quinn QA" in told.args["text"]
    assert "left the council" not in str(told.args)  # the reason stays on the trail

    slack.block_action("U0AUD", "allocation_accept", str(audit_id), message=message)
    [answer] = standin.responses
    assert f"Only the auditor allocated to {ref} can accept" in answer.body["text"]
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "allocated"
        assert db.scalars(select(Event).where(Event.kind == "refused.allocation_accept")).one()
    slack.block_action("U0NIA", "allocation_accept", str(audit_id), message=standin.message(asked.response["ts"]))
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).status == "accepted"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--by", "U0PRAC", "--reason", "x"], "--by Priya Practitioner is not in the QA team"),
        (["--by", "nobody@council.example", "--reason", "x"], "--by nobody@council.example is not an active person"),
        (["--by", "U0QA"], "--reason is required"),
        (["--by", "U0QA", "--reason", "  "], "--reason is required"),
        (["--by", "U0QA", "--reason", "moved, family at RH12 1AB"], "--reason must not carry personal details"),
        (["--to", "U0TM", *BY_QUINN], "--to Tom Teamlead is not an auditor"),
        (["--to", "U0AUD", *BY_QUINN], "--to Amira Auditor is already the auditor of QA-2027-01-001"),
        (["--to", "U0NOBODY", *BY_QUINN], "--to U0NOBODY is not an active person"),
    ],
)
@freeze_time(MONDAY_9)
def test_refusals_name_the_problem_and_change_nothing(rt, standin, world, cli_env, capsys, argv, error):
    _allocate(rt, world)
    assert cli.main(["reallocate", "QA-2027-01-001", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qabot: {error}") and err.count("\n") == 1
    assert _moves(rt) == []


@pytest.mark.parametrize(
    ("change", "to", "error"),
    [
        ("line", "U0SM", "--to Sara Service is in the practitioner's line management: an auditor must be independent"),
        ("team", "U0AUD2", "--to Oliver Other is in the practitioner's team: an auditor must be independent"),
        ("full", "U0AUD2", "--to Oliver Other already has 3 audit(s) in 2027-01, the monthly maximum (3)"),
    ],
)
@freeze_time(MONDAY_9)
def test_an_ineligible_auditor_is_refused_with_the_rule(rt, standin, world, cli_env, capsys, change, to, error):
    _allocate(rt, world)
    with rt.database.unit_of_work() as db:
        oliver = db.get(Person, world.people["oliver"])
        if change == "line":
            db.add(PersonRole(person_id=world.people["sara"], role="auditor"))
        elif change == "team":
            oliver.team = db.get(Person, world.people["priya"]).team
        else:
            for case in db.scalars(select(Case).order_by(Case.id)):
                allocation.allocate(db, rt.calendar, rt.settings, case, oliver, "2027-01")
    assert cli.main(["reallocate", "QA-2027-01-001", "--to", to, *BY_QUINN]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qabot: {error}") and err.count("\n") == 1
    assert _moves(rt) == []


@pytest.mark.parametrize(
    ("ref", "status", "error"),
    [
        ("QA-2027-01-001", "moderated", "QA-2027-01-001 is moderated: only an allocated, accepted or in-progress"),
        ("QA-2027-01-001", "awaiting_moderation", "QA-2027-01-001 is awaiting moderation: only"),
        ("QA-2027-01-009", "allocated", "there is no audit QA-2027-01-009"),
    ],
)
@freeze_time(MONDAY_9)
def test_a_closed_or_unknown_audit_is_refused(rt, standin, world, cli_env, capsys, ref, status, error):
    audit_id, _ = _allocate(rt, world)
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).status = status
    assert cli.main(["reallocate", ref, *BY_QUINN]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qabot: {error}") and err.count("\n") == 1
    assert _moves(rt) == []


@freeze_time(MONDAY_9)
def test_with_nobody_eligible_the_qa_team_is_asked_to_name_one(rt, standin, world, cli_env, capsys):
    _allocate(rt, world)
    with rt.database.unit_of_work() as db:
        db.get(Person, world.people["oliver"]).active = False
    assert cli.main(["reallocate", "QA-2027-01-001", *BY_QUINN]) == 2
    assert "no other active auditor is independent of QA-2027-01-001" in capsys.readouterr().err


@freeze_time(MONDAY_9)
def test_an_accept_read_before_the_move_committed_is_refused(rt, world):
    audit_id, ref = _allocate(rt, world)
    with rt.database.unit_of_work() as db:
        amira, audit = db.get(Person, world.people["amira"]), db.get(Audit, audit_id)  # the click's read
        db.execute(update(Audit).where(Audit.id == audit_id).values(auditor_id=world.people["oliver"]))  # the move
        outcome = allocation._decide(db, amira, audit, "accepted", "allocation_accepted", accepted_at=MONDAY_9)
        assert (outcome.ok, outcome.reason, outcome.detail) == (False, "not_your_allocation", {"qa_ref": ref})
        assert db.get(Audit, audit_id).status == "allocated"
