"""Allocation buttons in the auditor's DM, and the "Can't take this one" form."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import allocation
from handlers.common import act, answer_refusal, audit_id_of, click, field_errors, submit, unreadable
from messages import render_view

REASON_BLOCK, REASON_ACTION = "reason", "reason_input"


def register(app: App, rt: Runtime) -> None:
    def accept(body, respond, client):
        audit_id = audit_id_of(body["actions"][0].get("value", ""))
        if audit_id is None:
            return answer_refusal(respond, unreadable(rt, body, "allocation_accept"), client=client, body=body)
        user = body["user"]["id"]
        outcome = act(rt, body, lambda db: allocation.accept(db, rt.calendar, rt.settings, audit_id, user))
        answer_refusal(respond, outcome, client=client, body=body)

    def decline(body, respond, client):
        audit_id = audit_id_of(body["actions"][0].get("value", ""))
        if audit_id is None:
            return answer_refusal(respond, unreadable(rt, body, "allocation_decline"), client=client, body=body)
        outcome = act(rt, body, lambda db: allocation.may_decide(db, audit_id, body["user"]["id"]))
        if outcome is None or not outcome.ok:
            return answer_refusal(respond, outcome, client=client, body=body)
        # trigger_id lasts 3 seconds and works once: the form is opened straight after the ack.
        view = render_view("allocation_decline_form", {"qa_ref": outcome.detail["qa_ref"], "audit_id": audit_id})
        client.views_open(trigger_id=body["trigger_id"], view=view)

    click(app, "allocation_accept", accept)
    click(app, "allocation_decline", decline)

    @app.view("allocation_decline")
    def declined(ack, body, view):
        audit_id = audit_id_of(view.get("private_metadata", ""))
        reason = ((view["state"]["values"].get(REASON_BLOCK) or {}).get(REASON_ACTION) or {}).get("value") or ""
        if len(reason.strip()) < 5:
            return ack(
                response_action="errors",
                errors={REASON_BLOCK: "Please say briefly why, so the QA team can reallocate it."},
            )
        if audit_id is None:
            unreadable(rt, body, "allocation_decline")
            return ack(
                response_action="errors",
                errors={REASON_BLOCK: "This form no longer matches an audit. Please contact the QA team."},
            )
        user = body["user"]["id"]
        outcome = submit(
            rt, body, lambda db: allocation.decline(db, rt.calendar, rt.settings, audit_id, user, reason.strip())
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, REASON_BLOCK))
        ack()
