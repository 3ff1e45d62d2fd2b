"""Allocation buttons in the auditor's DM."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import allocation
from bot.workflow.outcome import refused
from handlers.common import act, answer_refusal


def register(app: App, rt: Runtime) -> None:
    @app.action("allocation_accept")
    def accept(ack, body, respond):
        ack()
        audit_id = _audit_id(body)
        user = body["user"]["id"]
        if audit_id is None:
            return answer_refusal(respond, refused("unknown"))
        answer_refusal(respond, act(rt, body, lambda db: allocation.accept(db, audit_id, user)))


def _audit_id(body) -> int | None:
    value = body["actions"][0].get("value", "")
    return int(value) if value.isdigit() else None
