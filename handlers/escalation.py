"""Escalations: the person at the current level's Resolve (a note), Extend (a new date and a reason) and Escalate
now."""

from datetime import date

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import escalation
from bot.workflow.outcome import refused
from handlers.common import act, audit_id_of, decision_button, field_errors, form_button, refusal_words


def _value(values: dict, block_id: str, action_id: str) -> dict:
    return (values.get(block_id) or {}).get(action_id) or {}


def register(app: App, rt: Runtime) -> None:
    for action in ("escalation_resolve", "escalation_extend"):
        form_button(
            app,
            rt,
            action,
            "escalation_form",
            lambda db, escalation_id, user, action=action: escalation.form_context(db, escalation_id, user, action),
        )
    decision_button(app, rt, "escalation_escalate", escalation.escalate_now)

    @app.view("escalation_resolve_form")
    def resolved(ack, body, view):
        note = _value(view["state"]["values"], "note", "answer").get("value")
        escalation_id = audit_id_of(view.get("private_metadata", ""))
        if escalation_id is None:
            return ack(response_action="errors", errors={"note": refusal_words(refused("unknown"))})
        user = body["user"]["id"]
        outcome = act(rt, body, lambda db: escalation.resolve(db, rt.calendar, rt.settings, escalation_id, user, note))
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "note"))
        ack()

    @app.view("escalation_extend_form")
    def extended(ack, body, view):
        values = view["state"]["values"]
        day = _value(values, "to", "day").get("selected_date")
        reason = _value(values, "reason", "answer").get("value")
        escalation_id = audit_id_of(view.get("private_metadata", ""))
        if escalation_id is None:
            return ack(response_action="errors", errors={"to": refusal_words(refused("unknown"))})
        try:
            to = date.fromisoformat(day) if day else None
        except ValueError:
            to = None
        user = body["user"]["id"]
        outcome = act(
            rt, body, lambda db: escalation.extend(db, rt.calendar, rt.settings, escalation_id, user, to, reason)
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "to"))
        ack()
