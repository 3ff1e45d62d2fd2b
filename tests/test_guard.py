"""The PII guard as the workflow applies it, and as a form shows it."""

from bot.workflow import guard
from bot.workflow.outcome import refused
from handlers.common import field_errors
from store.models import Case


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
