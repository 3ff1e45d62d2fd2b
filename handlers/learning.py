"""Learning: `/qa highlight` and the "Post a learning highlight" shortcut open the highlight form; `/qa topten
[YYYY-MM]` opens the month's top ten (drafted if need be); the draft's Edit and Approve and post buttons."""

from slack_bolt import App

from bot import months
from bot.calendar import now
from bot.runtime import Runtime
from bot.workflow import learning
from handlers.common import (
    acked_first,
    act,
    answer,
    answer_refusal,
    decision_button,
    field_errors,
    form_button,
    open_month_form,
    record_form,
    submit,
)
from messages import render_view


def open_highlight(rt: Runtime, body: dict, respond, client, user: str) -> None:
    outcome = act(rt, body, lambda db: learning.highlight_context(db, user))
    if outcome is None or not outcome.ok:
        return answer_refusal(respond, outcome, client=client, body=body)
    # trigger_id lasts 3 seconds and works once: the form is opened here, synchronously.
    client.views_open(trigger_id=body["trigger_id"], view=render_view("highlight_form", outcome.detail))


def open_top_ten(rt: Runtime, body: dict, respond, client, month_text: str) -> None:
    month = month_text or months.shift(months.of(rt.calendar.local(now())), -1)

    def decide(db, month):
        return learning.on_demand(db, rt.calendar, body["user_id"], month)

    open_month_form(rt, body, respond, client, month, "topten", decide, "topten_form")


def register(app: App, rt: Runtime) -> None:
    acked_first(
        app.shortcut("qa_highlight"),
        "qa_highlight",
        lambda body, respond, client: open_highlight(rt, body, respond, client, body["user"]["id"]),
    )

    @app.view("highlight_form")
    def posted(ack, body, view):
        values, user = view["state"]["values"], body["user"]["id"]
        outcome = submit(
            rt,
            body,
            lambda db: learning.post_highlight(
                db,
                rt.settings,
                user,
                answer(values, "theme").get("value"),
                answer(values, "learned").get("value"),
                answer(values, "link").get("value"),
            ),
        )
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "theme"))
        ack()

    form_button(app, rt, "topten_edit", "topten_form", learning.edit_context)
    record_form(
        app,
        rt,
        "topten_form",
        "item-0",
        lambda db, topten_id, user, values: learning.save_edit(
            db, topten_id, user, {block: answer(values, block).get("value") for block in values}
        ),
    )
    decision_button(app, rt, "topten_approve", learning.approve)
