"""SMART actions: the owner's Mark done (a note, a link to the evidence), the team manager's Sign off, Reopen (a
reason) and Extend (a new date, a reason), and the Service Manager's Approve / Refuse of a second extension."""

from datetime import date

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import actions
from bot.workflow.outcome import refused
from handlers.common import act, audit_id_of, decision_button, field_errors, form_button, refusal_words


def _value(values: dict, block_id: str, action_id: str) -> dict:
    return (values.get(block_id) or {}).get(action_id) or {}


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "action_done_open", "action_done_form", actions.done_form)
    form_button(app, rt, "action_reopen_open", "action_reopen_form", actions.reopen_form)
    form_button(
        app,
        rt,
        "action_extend_open",
        "action_extend_form",
        lambda db, action_id, user: actions.extend_form(db, rt.calendar, action_id, user),
    )
    decision_button(app, rt, "action_sign_off", actions.sign_off)
    decision_button(app, rt, "action_extension_approve", actions.approve_extension)
    decision_button(app, rt, "action_extension_refuse", actions.refuse_extension)

    @app.view("action_done_form")
    def done(ack, body, view):
        values = view["state"]["values"]
        note = _value(values, "note", "answer").get("value")
        link = _value(values, "link", "answer").get("value")
        action_id = audit_id_of(view.get("private_metadata", ""))
        if action_id is None:
            return ack(response_action="errors", errors={"note": refusal_words(refused("unknown"))})
        user = body["user"]["id"]
        outcome = act(rt, body, lambda db: actions.mark_done(db, rt.calendar, rt.settings, action_id, user, note, link))
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "note"))
        ack()

    @app.view("action_reopen_form")
    def reopened(ack, body, view):
        reason = _value(view["state"]["values"], "reason", "answer").get("value")
        action_id = audit_id_of(view.get("private_metadata", ""))
        if action_id is None:
            return ack(response_action="errors", errors={"reason": refusal_words(refused("unknown"))})
        user = body["user"]["id"]
        outcome = act(rt, body, lambda db: actions.reopen(db, rt.calendar, rt.settings, action_id, user, reason))
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "reason"))
        ack()

    @app.view("action_extend_form")
    def extended(ack, body, view):
        values = view["state"]["values"]
        day = _value(values, "to", "day").get("selected_date")
        reason = _value(values, "reason", "answer").get("value")
        action_id = audit_id_of(view.get("private_metadata", ""))
        if action_id is None:
            return ack(response_action="errors", errors={"to": refusal_words(refused("unknown"))})
        try:
            to = date.fromisoformat(day) if day else None
        except ValueError:
            to = None
        user = body["user"]["id"]
        outcome = act(rt, body, lambda db: actions.extend(db, rt.calendar, rt.settings, action_id, user, to, reason))
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "to"))
        ack()
