"""Disputes of a moderated grade: the practitioner's or team manager's "Dispute this grade" button and its form,
and the QA Head of Service's Uphold / Change the grade / Arrange a meeting."""

from datetime import date, time

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import disputes
from bot.workflow.outcome import refused
from handlers.common import act, audit_id_of, decision_button, field_errors, form_button, refusal_words


def _value(values: dict, block_id: str, action_id: str) -> dict:
    return (values.get(block_id) or {}).get(action_id) or {}


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "dispute_open", "dispute_form", disputes.form_context)
    form_button(
        app,
        rt,
        "dispute_change",
        "dispute_change_form",
        lambda db, dispute_id, user: disputes.decision_context(db, dispute_id, user, "dispute_change"),
    )
    form_button(
        app,
        rt,
        "dispute_meeting",
        "dispute_meeting_form",
        lambda db, dispute_id, user: disputes.decision_context(db, dispute_id, user, "dispute_meeting"),
    )

    @app.view("dispute_form")
    def raised(ack, body, view):
        reason = _value(view["state"]["values"], "reason", "answer").get("value")
        moderation_id = audit_id_of(view.get("private_metadata", ""))
        if moderation_id is None:
            return ack(response_action="errors", errors={"reason": refusal_words(refused("unknown"))})
        user = body["user"]["id"]
        outcome = act(
            rt,
            body,
            lambda db: disputes.raise_dispute(db, rt.calendar, rt.settings, moderation_id, user, reason),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "reason"))
        ack()

    decision_button(app, rt, "dispute_uphold", disputes.uphold)

    @app.view("dispute_change_form")
    def changed(ack, body, view):
        values = view["state"]["values"]
        grade = _value(values, "grade", "answer").get("selected_option") or {}
        rationale = _value(values, "rationale", "answer").get("value")
        dispute_id = audit_id_of(view.get("private_metadata", ""))
        if dispute_id is None:
            return ack(response_action="errors", errors={"grade": refusal_words(refused("unknown"))})
        user = body["user"]["id"]
        outcome = act(
            rt,
            body,
            lambda db: disputes.change(db, rt.calendar, rt.settings, dispute_id, user, grade.get("value"), rationale),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "grade"))
        ack()

    @app.view("dispute_meeting_form")
    def meeting(ack, body, view):
        values = view["state"]["values"]
        day = _value(values, "when_day", "day").get("selected_date")
        at = _value(values, "when_time", "time").get("selected_time")
        roles = {o["value"] for o in _value(values, "attending", "roles").get("selected_options") or []}
        dispute_id = audit_id_of(view.get("private_metadata", ""))
        try:
            day, at = date.fromisoformat(day or ""), time.fromisoformat(at or "")
        except ValueError:
            return ack(response_action="errors", errors={"when_day": "Please choose a date and a time."})
        if dispute_id is None:
            return ack(response_action="errors", errors={"when_day": refusal_words(refused("unknown"))})
        user = body["user"]["id"]
        outcome = act(
            rt,
            body,
            lambda db: disputes.arrange_meeting(db, rt.calendar, rt.settings, dispute_id, user, day, at, roles),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "when_day"))
        ack()
