"""Family feedback: the auditor's "Record family feedback" button and its form, and the "Read it" button."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import family_feedback
from handlers.common import audit_id_of, field_errors, form_button, submit, unreadable

TEXT_FIELDS = ("reason", "child_voice", "family_view")  # block ids; each input's action_id is "text"


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "family_feedback_open", "family_feedback_form", family_feedback.form_context)

    form_button(app, rt, "family_feedback_view", "family_feedback_view", family_feedback.view_context)

    @app.view("family_feedback_form")
    def submitted(ack, body, view):
        values = view["state"]["values"]
        how = (((values.get("how") or {}).get("choice") or {}).get("selected_option") or {}).get("value") or ""
        texts = {field: ((values.get(field) or {}).get("text") or {}).get("value") or "" for field in TEXT_FIELDS}
        audit_id = audit_id_of(view.get("private_metadata", ""))
        if audit_id is None:
            return ack(response_action="errors", errors=field_errors(unreadable(rt, body, "family_feedback"), "how"))
        outcome = submit(
            rt,
            body,
            lambda db: family_feedback.record(
                db, audit_id, body["user"]["id"], how, texts["reason"], texts["child_voice"], texts["family_view"]
            ),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "how"))
        ack()
