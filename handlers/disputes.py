"""Disputes of a moderated grade: the practitioner's or team manager's "Dispute this grade" button and its form,
and the QA Head of Service's Uphold / Change the grade / Arrange a meeting."""

from datetime import date, time

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import disputes
from handlers.common import (
    answer,
    audit_id_of,
    decision_button,
    field_errors,
    form_button,
    record_form,
    refusal_words,
    submit,
    unreadable,
)


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

    record_form(
        app,
        rt,
        "dispute_form",
        "reason",
        lambda db, moderation_id, user, values: disputes.raise_dispute(
            db, rt.calendar, rt.settings, moderation_id, user, answer(values, "reason").get("value")
        ),
    )

    decision_button(app, rt, "dispute_uphold", disputes.uphold)

    record_form(
        app,
        rt,
        "dispute_change_form",
        "grade",
        lambda db, dispute_id, user, values: disputes.change(
            db,
            rt.calendar,
            rt.settings,
            dispute_id,
            user,
            (answer(values, "grade").get("selected_option") or {}).get("value"),
            answer(values, "rationale").get("value"),
        ),
    )

    @app.view("dispute_meeting_form")
    def meeting(ack, body, view):
        values = view["state"]["values"]
        day = answer(values, "when_day", "day").get("selected_date")
        at = answer(values, "when_time", "time").get("selected_time")
        roles = {o["value"] for o in answer(values, "attending", "roles").get("selected_options") or []}
        dispute_id = audit_id_of(view.get("private_metadata", ""))
        try:
            day, at = date.fromisoformat(day or ""), time.fromisoformat(at or "")
        except ValueError:
            return ack(response_action="errors", errors={"when_day": "Please choose a date and a time."})
        if dispute_id is None:
            return ack(
                response_action="errors", errors={"when_day": refusal_words(unreadable(rt, body, "dispute_meeting"))}
            )
        user = body["user"]["id"]
        outcome = submit(
            rt,
            body,
            lambda db: disputes.arrange_meeting(db, rt.calendar, rt.settings, dispute_id, user, day, at, roles),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "when_day"))
        ack()
