"""The quarterly QA report on request: `/qa report [2027Q1]` (the QA team's; others are refused)."""

from bot.runtime import Runtime
from bot.workflow import reports
from handlers.common import act, answer_refusal
from messages import render


def ask(rt: Runtime, body: dict, respond, text: str) -> None:
    outcome = act(rt, body, lambda db: reports.ask(db, rt.calendar, rt.settings, body["user_id"], text))
    if outcome is None or not outcome.ok:
        return answer_refusal(respond, outcome)
    payload = render("report_queued", outcome.detail)
    respond(text=payload["text"], blocks=payload["blocks"], response_type="ephemeral")
