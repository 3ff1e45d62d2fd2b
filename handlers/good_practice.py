"""Good practice: the auditor's "Nominate as good practice" button on the moderation outcome, and its form.
(The moderator nominates in the moderation form: handlers/moderation.py.)"""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import good_practice
from handlers.common import audit_id_of, field_errors, form_button, refusal_words, submit, unreadable


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "good_practice_open", "good_practice_form", good_practice.form_context)

    @app.view("good_practice_form")
    def nominated(ack, body, view):
        reason = ((view["state"]["values"].get("reason") or {}).get("answer") or {}).get("value")
        audit_id = audit_id_of(view.get("private_metadata", ""))
        if audit_id is None:
            return ack(
                response_action="errors", errors={"reason": refusal_words(unreadable(rt, body, "good_practice"))}
            )
        user = body["user"]["id"]
        outcome = submit(
            rt, body, lambda db: good_practice.nominate_as_auditor(db, rt.settings, audit_id, user, reason)
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "reason"))
        ack()
