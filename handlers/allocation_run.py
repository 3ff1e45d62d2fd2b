"""`/qa allocate`: the QA team reviews the month's draft sample in a form and confirms it."""

import re

from slack_bolt import App

from bot import months
from bot.calendar import now
from bot.runtime import Runtime
from bot.workflow import allocation_run
from handlers.common import audit_id_of, open_month_form, refusal_words, submit, unreadable


def open_review(rt: Runtime, body: dict, respond, client, month_text: str) -> None:
    month = month_text or months.of(rt.calendar.local(now()))

    def decide(db, month):
        return allocation_run.review(db, rt.settings, body["user_id"], month)

    open_month_form(rt, body, respond, client, month, "allocate", decide, "allocation_review")


def register(app: App, rt: Runtime) -> None:
    @app.view("allocation_review")
    def submitted(ack, body, view):
        run_id = view.get("private_metadata", "")
        values = view["state"]["values"]
        keep = {
            int(option["value"])
            for block_id, block in values.items()
            if block_id.startswith("keep_")
            for option in (block.get("keep") or {}).get("selected_options") or []
            if audit_id_of(option.get("value", "")) is not None
        }
        refs = re.split(r"[,\s]+", ((values.get("add") or {}).get("refs") or {}).get("value") or "")
        if audit_id_of(run_id) is None:
            unreadable(rt, body, "allocate")
            return ack(
                response_action="errors", errors={"add": "This form is out of date. Please run /qa allocate again."}
            )
        outcome = submit(
            rt,
            body,
            lambda db: allocation_run.submit_review(
                db, rt.calendar, rt.settings, body["user"]["id"], int(run_id), keep, refs
            ),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors={"add": refusal_words(outcome)})
        ack()
