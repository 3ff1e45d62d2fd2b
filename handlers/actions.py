"""SMART actions: the owner's Mark done (a note, a link to the evidence), the team manager's Sign off, Reopen (a
reason) and Extend (a new date, a reason), and the Service Manager's Approve / Refuse of a second extension."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import actions, extensions
from handlers.common import answer, decision_button, form_button, picked_day, record_form


def register(app: App, rt: Runtime) -> None:
    form_button(app, rt, "action_done_open", "action_done_form", actions.done_form)
    form_button(app, rt, "action_reopen_open", "action_reopen_form", actions.reopen_form)
    form_button(
        app,
        rt,
        "action_extend_open",
        "action_extend_form",
        lambda db, action_id, user: extensions.extend_form(db, rt.calendar, action_id, user),
    )
    decision_button(app, rt, "action_sign_off", actions.sign_off)
    decision_button(app, rt, "action_extension_approve", extensions.approve_extension)
    decision_button(app, rt, "action_extension_refuse", extensions.refuse_extension)

    record_form(
        app,
        rt,
        "action_done_form",
        "note",
        lambda db, action_id, user, values: actions.mark_done(
            db,
            rt.calendar,
            rt.settings,
            action_id,
            user,
            answer(values, "note").get("value"),
            answer(values, "link").get("value"),
        ),
    )
    record_form(
        app,
        rt,
        "action_reopen_form",
        "reason",
        lambda db, action_id, user, values: actions.reopen(
            db, rt.calendar, rt.settings, action_id, user, answer(values, "reason").get("value")
        ),
    )
    record_form(
        app,
        rt,
        "action_extend_form",
        "to",
        lambda db, action_id, user, values: extensions.extend(
            db,
            rt.calendar,
            rt.settings,
            action_id,
            user,
            picked_day(values, "to"),
            answer(values, "reason").get("value"),
        ),
    )
