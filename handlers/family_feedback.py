"""Family feedback: the auditor's "Record family feedback" button and its form, and the "Read it" button."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import family_feedback
from bot.workflow.outcome import refused
from handlers.common import act, answer_refusal, audit_id_of, field_errors
from messages import render_view

TEXT_FIELDS = ("reason", "child_voice", "family_view")  # block ids; each input's action_id is "text"


def register(app: App, rt: Runtime) -> None:
    @app.action("family_feedback_open")
    def open_form(ack, body, respond, client):
        ack()
        audit_id = audit_id_of(body["actions"][0].get("value", ""))
        if audit_id is None:
            return answer_refusal(respond, refused("unknown"))
        outcome = act(rt, body, lambda db: family_feedback.form_context(db, audit_id, body["user"]["id"]))
        if outcome is None or not outcome.ok:
            return answer_refusal(respond, outcome)
        # trigger_id lasts 3 seconds and works once: the form is opened here, synchronously.
        client.views_open(trigger_id=body["trigger_id"], view=render_view("family_feedback_form", outcome.detail))

    @app.action("family_feedback_view")
    def open_view(ack, body, respond, client):
        ack()
        audit_id = audit_id_of(body["actions"][0].get("value", ""))
        if audit_id is None:
            return answer_refusal(respond, refused("unknown"))
        outcome = act(rt, body, lambda db: family_feedback.view_context(db, audit_id, body["user"]["id"]))
        if outcome is None or not outcome.ok:
            return answer_refusal(respond, outcome)
        client.views_open(trigger_id=body["trigger_id"], view=render_view("family_feedback_view", outcome.detail))

    @app.view("family_feedback_form")
    def submitted(ack, body, view):
        values = view["state"]["values"]
        how = (((values.get("how") or {}).get("choice") or {}).get("selected_option") or {}).get("value") or ""
        texts = {field: ((values.get(field) or {}).get("text") or {}).get("value") or "" for field in TEXT_FIELDS}
        audit_id = audit_id_of(view.get("private_metadata", ""))
        if audit_id is None:
            return ack(response_action="errors", errors=field_errors(refused("unknown"), "how"))
        outcome = act(
            rt,
            body,
            lambda db: family_feedback.record(
                db, audit_id, body["user"]["id"], how, texts["reason"], texts["child_voice"], texts["family_view"]
            ),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "how"))
        ack()
