"""The practitioner's self-assessment: "Complete self-assessment" (from the meeting DM, a reminder or App Home)
opens the form; the auditor's "Read it" opens the answers, read-only."""

from typing import Any

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import self_assessment
from bot.workflow.outcome import Outcome, refused
from handlers.common import audit_id_of, field_errors, first_input, form_button, refusal_words, submit, unreadable


def register(app: App, rt: Runtime) -> None:
    form_button(
        app,
        rt,
        "self_assessment_open",
        "self_assessment_form",
        lambda db, audit_id, user: self_assessment.form_context(db, rt.calendar, rt.settings, audit_id, user),
    )

    form_button(app, rt, "self_assessment_view", "self_assessment_view", self_assessment.view_context)

    @app.view("self_assessment_form")
    def submitted(ack, body, view):
        values = view["state"]["values"]
        answers = {block_id: _answer(actions) for block_id, actions in values.items()}
        first_field = first_input(view, "lived_experience")
        audit_id = audit_id_of(view.get("private_metadata", ""))
        if audit_id is None:
            return ack(
                response_action="errors",
                errors={first_field: refusal_words(unreadable(rt, body, "self_assessment_submit"))},
            )
        outcome = submit(
            rt,
            body,
            lambda db: self_assessment.submit(db, rt.calendar, rt.settings, audit_id, body["user"]["id"], answers),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=_errors(outcome, first_field))
        ack()


def _answer(actions: dict[str, Any]) -> str | None:
    """The value of a block's one input: a select's option value, or the text typed."""
    state = next(iter(actions.values()), None) or {}
    if "selected_option" in state:
        return (state["selected_option"] or {}).get("value")
    return state.get("value")


def _errors(outcome: Outcome, default_field: str) -> dict[str, str]:
    """Every field's problem at once: what is missing or too long, and any personal details found."""
    if outcome.reason != "self_assessment_incomplete":
        return field_errors(outcome, default_field)
    errors = {field: refusal_words(refused(**problem)) for field, problem in outcome.detail["problems"].items()}
    if outcome.detail["pii"]:
        errors = field_errors(refused("pii", fields=outcome.detail["pii"]), default_field) | errors
    return errors
