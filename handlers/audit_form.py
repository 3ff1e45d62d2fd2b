"""The audit form: the auditor's button, one modal per step (updated in place), then the SMART actions."""

from datetime import date

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import audit_form
from handlers.common import act, audit_id_of, field_errors, first_input, form_button, submit, unreadable
from messages import render_view


def _answers(values: dict) -> dict:
    """Each input's value by its block_id (the answer id), whatever kind of input it is."""
    answers = {}
    for block_id, block in values.items():
        element = block.get("answer") or {}
        kind = element.get("type")
        if kind in ("static_select", "radio_buttons"):
            answers[block_id] = (element.get("selected_option") or {}).get("value")
        elif kind == "checkboxes":
            answers[block_id] = [o["value"] for o in element.get("selected_options") or []]
        elif kind == "users_select":
            answers[block_id] = element.get("selected_user")
        elif kind == "datepicker":
            answers[block_id] = element.get("selected_date")
        else:
            answers[block_id] = element.get("value")
    return answers


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "audit_form_open", "audit_form_step", audit_form.step_context)

    @app.view("audit_form_step")
    def step_submitted(ack, body, view):
        audit_text, _, step_id = view.get("private_metadata", "").partition(":")
        audit_id = audit_id_of(audit_text)
        answers = _answers(view["state"]["values"])
        user = body["user"]["id"]
        if audit_id is None:
            unreadable(rt, body, "audit_form_step")
            return ack(response_action="errors", errors={first_input(view, "answer"): "This form is out of date."})
        outcome = act(
            rt, body, lambda db: audit_form.save_step(db, rt.calendar, rt.settings, audit_id, user, step_id, answers)
        )
        if outcome is None:
            return ack()
        if not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, first_input(view, "answer")))
        template = "audit_form_step" if outcome.detail["next"] == "step" else "audit_actions"
        ack(response_action="update", view=render_view(template, outcome.detail))

    @app.view_closed("audit_form_step")
    def step_closed(ack, body, view):
        ack()
        audit_text, _, step_id = view.get("private_metadata", "").partition(":")
        audit_id = audit_id_of(audit_text)
        if audit_id is None:
            unreadable(rt, body, "audit_form_close")
            return
        answers = _answers(view["state"]["values"])
        act(rt, body, lambda db: audit_form.keep_unsaved(db, audit_id, body["user"]["id"], step_id, answers))

    @app.view("audit_actions")
    def actions_submitted(ack, body, view):
        audit_id = audit_id_of(view.get("private_metadata", ""))
        answers = _answers(view["state"]["values"])
        actions = []
        for slot in range(1, audit_form.ACTION_SLOTS + 1):
            due = answers.get(f"due_{slot}")
            try:
                due = date.fromisoformat(due) if due else None
            except ValueError:
                due = None
            actions.append(
                {
                    "slot": slot,
                    "description": answers.get(f"action_{slot}"),
                    "owner": answers.get(f"owner_{slot}"),
                    "due": due,
                }
            )
        user = body["user"]["id"]
        if audit_id is None:
            unreadable(rt, body, "audit_actions")
            return ack(response_action="errors", errors={"action_1": "This form is out of date."})
        outcome = submit(rt, body, lambda db: audit_form.submit(db, rt.calendar, rt.settings, audit_id, user, actions))
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "action_1"))
        ack()
