"""The Inadequate pathway's buttons: record the Reflective Practice & Action Meeting or the resolution (a form),
escalate to the Assistant Director responsible, acknowledge the final escalation."""

from datetime import date

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import inadequate_steps
from bot.workflow.outcome import refused
from handlers.common import (
    audit_id_of,
    decision_button,
    field_errors,
    first_input,
    form_button,
    refusal_words,
    submit,
    unreadable,
)


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "pathway_record", "inadequate_form", inadequate_steps.form_context)

    decision_button(app, rt, "pathway_escalate", inadequate_steps.escalate)
    decision_button(app, rt, "pathway_acknowledge", inadequate_steps.acknowledge)

    @app.view("inadequate_form")
    def recorded(ack, body, view):
        values = view["state"]["values"]
        first = first_input(view, "note")
        day = ((values.get("held_on") or {}).get("day") or {}).get("selected_date")
        roles = {o["value"] for o in ((values.get("attending") or {}).get("roles") or {}).get("selected_options") or []}
        note = ((values.get("note") or {}).get("answer") or {}).get("value")
        task_id = audit_id_of(view.get("private_metadata", ""))
        if task_id is None:
            return ack(response_action="errors", errors={first: refusal_words(unreadable(rt, body, "pathway_record"))})
        try:
            held_on = date.fromisoformat(day) if day else None
        except ValueError:
            return ack(response_action="errors", errors={"held_on": refusal_words(refused("pathway_held_on_needed"))})
        user = body["user"]["id"]
        outcome = submit(
            rt,
            body,
            lambda db: inadequate_steps.record(db, rt.calendar, rt.settings, task_id, user, held_on, roles, note),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, first))
        ack()
