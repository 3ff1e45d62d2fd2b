"""Thematic audits: `/qa theme` opens the QA team's form to define one; the lead's findings and overview report;
the sponsor's sign-off; the sponsor's close-the-loop checks (from their digest)."""

from datetime import date

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import thematic
from handlers.common import act, answer, answer_refusal, decision_button, field_errors, form_button, record_form, submit
from messages import render_view


def open_form(rt: Runtime, body: dict, respond, client) -> None:
    outcome = act(rt, body, lambda db: thematic.define_context(db, rt.calendar, body["user_id"]))
    if outcome is None or not outcome.ok:
        return answer_refusal(respond, outcome)
    # trigger_id lasts 3 seconds and works once: the form is opened here, synchronously.
    client.views_open(trigger_id=body["trigger_id"], view=render_view("thematic_define_form", outcome.detail))


def _day(values: dict, block_id: str) -> date | None:
    try:
        return date.fromisoformat(answer(values, block_id).get("selected_date") or "")
    except ValueError:
        return None


def _define_values(values: dict) -> dict:
    return {
        "title": answer(values, "title").get("value"),
        "trigger": (answer(values, "trigger").get("selected_option") or {}).get("value"),
        "sponsor": answer(values, "sponsor").get("selected_user"),
        "month": answer(values, "month").get("value"),
        "categories": [o["value"] for o in answer(values, "categories").get("selected_options") or []],
        "team_id": (answer(values, "team").get("selected_option") or {}).get("value"),
        "size": answer(values, "size").get("value"),
        "picked": answer(values, "picked").get("value"),
        "questions": answer(values, "questions").get("value"),
        "audits_by": _day(values, "audits_by"),
        "report_by": _day(values, "report_by"),
    }


def _loop_values(values: dict) -> dict:
    found = {}
    for block_id in values:
        element = answer(values, block_id)
        if block_id.startswith("rec_"):
            found[block_id] = (element.get("selected_option") or {}).get("value")
        else:
            found[block_id] = element.get("value")
    return found


def register(app: App, rt: Runtime) -> None:
    @app.view("thematic_define")
    def defined(ack, body, view):
        values = _define_values(view["state"]["values"])
        user = body["user"]["id"]
        outcome = submit(rt, body, lambda db: thematic.define(db, rt.calendar, rt.settings, user, values))
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, "title"))
        ack()

    decision_button(app, rt, "thematic_findings", thematic.findings_now)
    form_button(app, rt, "thematic_report_open", "thematic_report_form", thematic.report_context)
    record_form(
        app,
        rt,
        "thematic_report",
        "summary",
        lambda db, theme_id, user, values: thematic.report(
            db, theme_id, user, answer(values, "summary").get("value"), answer(values, "recommendations").get("value")
        ),
    )
    decision_button(app, rt, "thematic_sign_off", thematic.sign_off)
    form_button(app, rt, "thematic_loop_open", "thematic_loop_form", thematic.check_context)
    record_form(
        app,
        rt,
        "thematic_loop",
        "impact",
        lambda db, check_id, user, values: thematic.record_check(
            db, rt.calendar, rt.settings, check_id, user, _loop_values(values)
        ),
    )
