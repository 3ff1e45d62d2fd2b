"""Escalations: the person at the current level's Resolve (a note), Extend (a new date and a reason) and Escalate
now."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import escalation
from handlers.common import answer, decision_button, form_button, picked_day, record_form


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

    record_form(
        app,
        rt,
        "escalation_resolve_form",
        "note",
        lambda db, escalation_id, user, values: escalation.resolve(
            db, rt.calendar, rt.settings, escalation_id, user, answer(values, "note").get("value")
        ),
    )
    record_form(
        app,
        rt,
        "escalation_extend_form",
        "to",
        lambda db, escalation_id, user, values: escalation.extend(
            db,
            rt.calendar,
            rt.settings,
            escalation_id,
            user,
            picked_day(values, "to"),
            answer(values, "reason").get("value"),
        ),
    )
