"""The audit meeting: the auditor's "Record the meeting" button and its form."""

from datetime import date, time

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import meeting
from handlers.common import audit_id_of, field_errors, form_button, refusal_words, submit, unreadable


def register(app: App, rt: Runtime) -> None:
    form_button(
        app,
        rt,
        "meeting_open",
        "meeting_form",
        lambda db, audit_id, user: meeting.form_context(db, rt.calendar, audit_id, user),
    )

    @app.view("meeting_form")
    def submitted(ack, body, view):
        values = view["state"]["values"]
        day = ((values.get("when_day") or {}).get("day") or {}).get("selected_date")
        at = ((values.get("when_time") or {}).get("time") or {}).get("selected_time")
        roles = {o["value"] for o in ((values.get("attending") or {}).get("roles") or {}).get("selected_options") or []}
        others = ((values.get("others") or {}).get("people") or {}).get("selected_users") or []
        audit_id = audit_id_of(view.get("private_metadata", ""))
        try:
            day, at = date.fromisoformat(day or ""), time.fromisoformat(at or "")
        except ValueError:
            return ack(response_action="errors", errors={"when_day": "Please choose a date and a time."})
        if audit_id is None:
            return ack(response_action="errors", errors={"when_day": refusal_words(unreadable(rt, body, "meeting"))})
        outcome = submit(
            rt,
            body,
            lambda db: meeting.record(
                db, rt.calendar, rt.settings, audit_id, body["user"]["id"], day, at, roles, others
            ),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "when_day"))
        ack()
