"""The Acknowledge button on an immediate safeguarding concern alert. (Its Resolve button is the escalation
engine's: handlers/escalation.py.)"""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import safeguarding
from handlers.common import act, answer_refusal, audit_id_of, click, unreadable


def register(app: App, rt: Runtime) -> None:
    def acknowledge(body, respond, client):
        escalation_id = audit_id_of(body["actions"][0].get("value", ""))
        if escalation_id is None:
            return answer_refusal(respond, unreadable(rt, body, "safeguarding_ack"), client=client, body=body)
        user = body["user"]["id"]
        outcome = act(rt, body, lambda db: safeguarding.acknowledge(db, rt.calendar, rt.settings, escalation_id, user))
        answer_refusal(respond, outcome, client=client, body=body)

    click(app, "safeguarding_ack", acknowledge)
