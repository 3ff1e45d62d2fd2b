"""Moderation: the moderator's "Moderate" button and the form to agree or change each grade (and, for a Good or
Outstanding audit, to nominate it as an example of good practice)."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import good_practice, moderation
from bot.workflow.outcome import Outcome, refused
from handlers.common import audit_id_of, field_errors, first_input, form_button, refusal_words, submit, unreadable


def _errors(outcome: Outcome, default_field: str) -> dict[str, str]:
    """Per-field refusal words: the form's own reason codes (with what their words name), or the PII guard's
    findings."""
    if outcome.reason == "moderation_errors":
        words = {k: v for k, v in outcome.detail.items() if k != "errors"}
        return {field: refusal_words(refused(code, **words)) for field, code in outcome.detail["errors"].items()}
    return field_errors(outcome, default_field)


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "moderation_open", "moderation_form", moderation.form_context)

    @app.view("moderation_form")
    def submitted(ack, body, view):
        values = view["state"]["values"]
        grades, rationales, mode, nominate, nomination_reason = {}, {}, None, False, None
        for block_id, block in values.items():
            element = block.get("answer") or {}
            if block_id == "mode":
                mode = (element.get("selected_option") or {}).get("value")
            elif block_id == good_practice.NOMINATE_FIELD:
                nominate = bool(element.get("selected_options"))
            elif block_id == good_practice.REASON_FIELD:
                nomination_reason = element.get("value")
            elif block_id.endswith("_rationale"):
                rationales[block_id.removesuffix("_rationale")] = element.get("value")
            else:
                grades[block_id] = (element.get("selected_option") or {}).get("value")
        moderation_id = audit_id_of(view.get("private_metadata", ""))
        first = first_input(view, "mode")
        if moderation_id is None:
            return ack(
                response_action="errors", errors={first: refusal_words(unreadable(rt, body, "moderation_record"))}
            )
        user = body["user"]["id"]
        outcome = submit(
            rt,
            body,
            lambda db: moderation.record(
                db,
                rt.calendar,
                rt.settings,
                moderation_id,
                user,
                grades,
                rationales,
                mode,
                nominate=nominate,
                nomination_reason=nomination_reason,
            ),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=_errors(outcome, first))
        ack()
