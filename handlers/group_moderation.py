"""Group moderation meetings: `/qa group [YYYY-MM]` opens the QA team's form to gather the month's waiting
moderations into a meeting with a date and a chair. The chair records each outcome with the moderation form."""

from datetime import date

from slack_bolt import App

from bot import months
from bot.calendar import now
from bot.runtime import Runtime
from bot.workflow import group_moderation
from bot.workflow.outcome import Outcome
from handlers.common import audit_id_of, field_errors, open_month_form, refusal_words, submit, unreadable
from messages import render


def open_form(rt: Runtime, body: dict, respond, client, month_text: str) -> None:
    month = month_text or months.of(rt.calendar.local(now()))

    def decide(db, month):
        return group_moderation.form_context(db, rt.calendar, body["user_id"], month)

    open_month_form(rt, body, respond, client, month, "group", decide, "group_moderation_form")


def _value(values: dict, block_id: str, action_id: str) -> dict:
    return (values.get(block_id) or {}).get(action_id) or {}


def _errors(outcome: Outcome) -> dict[str, str]:
    """Per-field words: each field's own refusal (with what it names), or the whole refusal on the audits."""
    if outcome.reason == "group_errors":
        return {field: render("refusal", found)["text"] for field, found in outcome.detail["errors"].items()}
    return field_errors(outcome, "audits")


def register(app: App, rt: Runtime) -> None:
    @app.view("group_moderation_form")
    def submitted(ack, body, view):
        values = view["state"]["values"]
        chosen = [
            audit_id_of(o.get("value", "")) for o in _value(values, "audits", "audits").get("selected_options") or []
        ]
        day = _value(values, "held_on", "day").get("selected_date")
        chair = _value(values, "chair", "chair").get("selected_user")
        month = view.get("private_metadata", "")
        if not months.is_month(month) or None in chosen:
            return ack(
                response_action="errors", errors={"audits": refusal_words(unreadable(rt, body, "group_moderation"))}
            )
        try:
            held_on = date.fromisoformat(day) if day else None
        except ValueError:
            held_on = None
        user = body["user"]["id"]
        outcome = submit(
            rt,
            body,
            lambda db: group_moderation.arrange(db, rt.calendar, rt.settings, user, month, chosen, held_on, chair),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=_errors(outcome))
        ack()
