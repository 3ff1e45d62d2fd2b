"""The PII guard as the workflow applies it, and as a form shows it."""

from sqlalchemy import delete, select, update

from bot.workflow import guard
from bot.workflow.outcome import refused
from handlers.common import field_errors
from store.models import Case, CaseListEntry, case_list_names_version


def test_names_on_the_case_list_and_personal_details_are_refused_per_field(rt, world):
    with rt.database.unit_of_work() as db:
        db.add(Case(case_ref="CS-9", category="CIN", worker_name="Jordan Blake", month="2027-01"))
        db.add(Case(case_ref="CS-10", category="CIN", worker_name="Agency Worker", month="2027-01"))
    with rt.database.unit_of_work() as db:
        assert "Jordan Blake" in guard.case_list_names(db)
        assert guard.check(db, {"view": "Good direct work with the child.", "empty": None}) is None
        assert guard.check(db, {"view": "The social worker saw the child alone."}) is None
        outcome = guard.check(db, {"view": "Jordan Blake visited RH12 1AB", "voice": "Fine.", "other": "07700 900123"})
    assert outcome.reason == "pii" and set(outcome.detail["fields"]) == {"view", "other"}
    errors = field_errors(outcome, "view")
    assert errors["view"].startswith("Please remove the postcode (RH12 1AB) and the name (Jordan Blake)") or (
        errors["view"].startswith("Please remove the name (Jordan Blake) and the postcode (RH12 1AB)")
    )
    assert "phone number (07700 900123)" in errors["other"]


def test_other_refusals_go_on_the_field_they_name():
    assert field_errors(refused("meeting_in_past", field="when_day"), "x") == {
        "when_day": "That time has passed. Please choose a date and time still to come."
    }
    assert list(field_errors(refused("unknown"), "reason")) == ["reason"]


def test_invisible_and_full_width_characters_do_not_hide_details(rt, world):
    with rt.database.unit_of_work() as db:
        for sneaky in (
            "RH12\u200b 1AB",
            "07700\u200b900123",
            "\uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff11\uff12\uff13",
        ):
            assert guard.check(db, {"view": f"Call {sneaky} today"}) is not None, sneaky


def test_the_names_are_read_again_whenever_a_case_list_changes(rt, world):
    """The guard keeps the names it read until the version the database's triggers keep has moved: a name added,
    changed or removed by any path (an import, COPY, retention) is seen by the next check."""

    def version():
        with rt.database.unit_of_work() as db:
            return db.scalar(select(case_list_names_version.c.version))

    def caught(text):
        with rt.database.unit_of_work() as db:
            return guard.check(db, {"view": text}) is not None

    assert not caught("Mina Okoro called.")
    before = version()
    with rt.database.unit_of_work() as db:
        db.add(Case(case_ref="CS-11", category="CIN", worker_name="Mina Okoro", month="2027-01"))
    assert version() > before and caught("Mina Okoro called.")
    with rt.database.unit_of_work() as db:
        case_id = db.scalar(select(Case.id).where(Case.case_ref == "CS-11"))
        db.add(CaseListEntry(case_id=case_id, month="2027-02", category="CIN", worker_name="Tariq Vale"))
    assert caught("Tariq Vale called.")
    with rt.database.unit_of_work() as db:
        db.execute(update(Case).where(Case.id == case_id).values(worker_name="Ruth Anane"))
        db.execute(delete(CaseListEntry).where(CaseListEntry.case_id == case_id))
    assert caught("Ruth Anane called.") and not caught("Tariq Vale called.") and not caught("Mina Okoro called.")
    settled = version()
    with rt.database.unit_of_work() as db:
        db.execute(update(Case).where(Case.id == case_id).values(category="CP"))
    assert version() == settled  # not a name: the names are kept
