"""What every feature's handlers share: one claimed transaction per request, and refusals."""

import logging
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from sqlalchemy.orm import Session

from bot import months
from bot.runtime import Runtime
from bot.workflow import requests
from bot.workflow.outcome import Outcome, refused
from messages import render, render_view
from store import WriteReached

T = TypeVar("T")
log = logging.getLogger("qabot.handlers")


def _ack(ack) -> None:
    ack()


def acked_first(listener: Callable[..., Any], what: str, work: Callable[[dict, Any, Any], None]) -> None:
    """Register `work(body, respond, client)` with `listener` (Bolt's `app.action(…)`, `app.command(…)` or
    `app.event(…)`) so that Slack hears "ok" at once and the work is done after, in rt.listeners: a click's
    transaction is tens of statements and Slack waits 3 seconds at most (and re-delivers an event it thinks lost).
    The work answers the person as a refusal is answered, through response_url or their DM; if it fails, nothing
    was written (its transaction rolled back) and the person is told so rather than left waiting."""

    def run(body, respond, client):
        try:
            work(body, respond, client)
        except Exception as error:
            log.error("the work of %s failed: %s", what, error, exc_info=error)
            if body.get("type") != "event_callback":  # an event has nobody to answer
                answer_refusal(respond, refused("click_failed"), client=client, body=body)

    listener(ack=_ack, lazy=[run])


def click(app: App, action: str, work: Callable[[dict, Any, Any], None]) -> None:
    """A button or menu whose work is done after Slack has heard "ok" (see `acked_first`)."""
    acked_first(app.action(action), action, work)


def open_month_form(
    rt: Runtime,
    body: dict,
    respond,
    client,
    month: str,
    word: str,
    decide: Callable[[Session, str], Outcome],
    view: str,
) -> None:
    """`/qa <word> [YYYY-MM]` opening a form for that month: a bad month is answered where it was typed, a refusal
    ephemerally, and the form opened here, synchronously (trigger_id lasts 3 seconds and works once)."""
    if not months.is_month(month):
        return respond(
            text=f"Please give the month as YYYY-MM, for example `/qa {word} 2027-01`.", response_type="ephemeral"
        )
    outcome = act(rt, body, lambda db: decide(db, month))
    if outcome is None or not outcome.ok:
        return answer_refusal(respond, outcome)
    client.views_open(trigger_id=body["trigger_id"], view=render_view(view, outcome.detail))


def act(rt: Runtime, body: dict[str, Any], work: Callable[[Session], T]) -> T | None:
    """Claim the request's key and do its work in one transaction. None for a re-delivery: it acts once.
    If the work raises, nothing is written (the claim included), so Slack's retry can act."""
    key = requests.request_key(body)
    with rt.database.unit_of_work() as db:
        if key and not requests.claim(db, key):
            return None
        result = work(db)
    rt.after_commit()
    return result


# Refusals that name a form's fields: after the form has closed they can only be told as a whole.
_FIELD_REASONS = {
    "pii",
    "form_errors",
    "action_errors",
    "moderation_errors",
    "group_errors",
    "self_assessment_incomplete",
}


def submit(rt: Runtime, body: dict[str, Any], work: Callable[[Session], Outcome]) -> Outcome | None:
    """A form's submission: a refusal to show on its fields, or None when the form may close now.

    The work's checks run before the answer, as the workflow itself runs them, in a trial transaction up to its first
    write (`Database.trial`): who may, the record's state, each field, the PII guard. When they pass, the form closes at
    once and the work is done straight after in rt.listeners (Slack waits 3 seconds at most for the answer). A refusal
    that goes on the trail is recorded and shown as before; one that only the work itself meets (someone decided in
    the meantime) reaches the person in their DM, since the form is gone."""
    key = requests.request_key(body)
    try:
        with rt.database.trial() as db:
            if key and requests.claimed(db, key):
                return None  # a re-delivery of a form already taken
            outcome = work(db)
            pending = bool(db.new or db.dirty or db.deleted)
    except WriteReached:
        outcome, pending = None, True
    if outcome is not None and not outcome.ok:
        return act(rt, body, work) if pending else outcome
    rt.listeners.submit(_submitted, rt, body, work)
    return None


def _submitted(rt: Runtime, body: dict[str, Any], work: Callable[[Session], Outcome]) -> None:
    form = body["view"].get("callback_id")
    try:
        outcome = act(rt, body, work)
    except Exception as error:
        log.error("the work of form %s failed: %s", form, error, exc_info=error)
        outcome = refused("form_failed")
    if outcome is None or outcome.ok:
        return
    if outcome.reason in _FIELD_REASONS:
        outcome = refused("form_failed")
    try:
        answer_refusal(None, outcome, client=rt.client, body=body)
    except Exception as error:  # nobody else would see it: this runs after the answer, in rt.listeners
        log.error("could not tell %s that form %s was refused: %s", body["user"]["id"], form, error, exc_info=error)


def unreadable(rt: Runtime, body: dict[str, Any], what: str) -> Outcome:
    """Refuse a button value or form id that names no record, and put the attempt on the trail (once, however often
    Slack delivers it)."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    return act(rt, body, lambda db: requests.refuse_unreadable(db, what, user)) or refused("unknown")


def answer_refusal(respond, outcome: Outcome | None, *, client=None, body: dict[str, Any] | None = None) -> None:
    """A refused click is answered ephemerally through response_url, which works wherever the click was.
    A click in App Home (or a modal) has no response_url: given `client` and `body`, the answer goes to the
    person's DM with the bot instead, as an ephemeral message."""
    if outcome is None or outcome.ok:
        return
    payload = render("refusal", {"reason": outcome.reason, **outcome.detail})
    if client is not None and body is not None and not body.get("response_url"):
        user = body["user"]["id"]
        channel = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postEphemeral(channel=channel, user=user, text=payload["text"], blocks=payload["blocks"])
        return
    respond(text=payload["text"], blocks=payload["blocks"], response_type="ephemeral", replace_original=False)


def form_button(app: App, rt: Runtime, action: str, template: str, context: Callable[[Session, int, str], Outcome]):
    """A button whose value names a record and which opens a form: `context(db, record_id, slack_user_id)`
    either refuses (answered ephemerally, on the trail) or gives what the form shows."""

    def open_form(body, respond, client):
        record_id = audit_id_of(body["actions"][0].get("value", ""))
        if record_id is None:
            return answer_refusal(respond, unreadable(rt, body, action), client=client, body=body)
        outcome = act(rt, body, lambda db: context(db, record_id, body["user"]["id"]))
        if outcome is None or not outcome.ok:
            return answer_refusal(respond, outcome, client=client, body=body)
        # trigger_id lasts 3 seconds and works once: the form is opened straight after the ack.
        client.views_open(trigger_id=body["trigger_id"], view=render_view(template, outcome.detail))

    click(app, action, open_form)


def decision_button(app: App, rt: Runtime, action: str, decide: Callable[..., Outcome]) -> None:
    """A button that decides a record (its id in the value) in one click: `decide(db, cal, settings, id, user)`;
    a refused click is answered ephemerally."""

    def clicked(body, respond, client):
        task_id = audit_id_of(body["actions"][0].get("value", ""))
        if task_id is None:
            return answer_refusal(respond, unreadable(rt, body, action), client=client, body=body)
        user = body["user"]["id"]
        outcome = act(rt, body, lambda db: decide(db, rt.calendar, rt.settings, task_id, user))
        answer_refusal(respond, outcome, client=client, body=body)

    click(app, action, clicked)


def record_form(
    app: App, rt: Runtime, callback_id: str, field: str, decide: Callable[[Session, int, str, dict], Outcome]
) -> None:
    """A modal about one record (its id in private_metadata): `decide(db, record_id, slack_user_id, values)` acts
    on the submitted values; a refusal is shown on the field it names (`field` otherwise) and nothing is written."""

    @app.view(callback_id)
    def submitted(ack, body, view):
        record_id = audit_id_of(view.get("private_metadata", ""))
        # A form whose fields vary (a theme's checks) may lack `field`: a whole-form problem goes on its first input.
        default = field if field in _inputs(view) else first_input(view, field)
        if record_id is None:
            return ack(response_action="errors", errors={default: refusal_words(unreadable(rt, body, callback_id))})
        user, values = body["user"]["id"], view["state"]["values"]
        outcome = submit(rt, body, lambda db: decide(db, record_id, user, values))
        if outcome is not None and not outcome.ok:
            return ack(response_action="errors", errors=field_errors(outcome, default))
        ack()


# What each input reports in view.state.values, by the type of its value; anything else is not Slack's shape.
_TEXT_FIELDS = ("value", "selected_date", "selected_time", "selected_user", "selected_conversation", "selected_channel")
_OPTION_FIELDS = ("selected_option",)
_LIST_FIELDS = ("selected_options", "selected_users", "selected_conversations", "selected_channels")


class SlackShaped(Middleware):
    """A payload's values in Slack's shape, or absent. A forged or malformed submission or click (a list where an
    option belongs, a number for text, a state that is not a mapping) reaches the handlers as unanswered fields, so
    each form says what is missing on its field instead of failing. One that names no form or button at all is
    answered 400 here: Bolt would fail (500) looking for its listener. (A class, not a function: Bolt builds a
    function's arguments from the payload, and that alone fails on such a payload.)"""

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        body = req.body
        if not _routable(body):
            return BoltResponse(status=400, body="")
        view = body.get("view")
        if body.get("type") in ("view_submission", "view_closed"):
            if not isinstance(view.get("private_metadata"), str):
                view["private_metadata"] = ""
            state = view.get("state")
            values = state.get("values") if isinstance(state, dict) else None
            view["state"] = {"values": _shaped_values(values)}
        if body.get("type") == "block_actions":
            body["actions"] = [_shaped_input(a) for a in body["actions"] if isinstance(a, dict)]
            for action in body["actions"]:
                if not isinstance(action.get("block_id", ""), str):
                    action["block_id"] = ""
        return next()


def _routable(body: dict) -> bool:
    kind = body.get("type")
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        return isinstance(view, dict) and isinstance(view.get("callback_id"), str)
    if kind == "block_actions":
        actions = body.get("actions")
        return (
            bool(actions)
            and isinstance(actions, list)
            and isinstance(actions[0], dict)
            and isinstance(actions[0].get("action_id"), str)
        )
    return True


def _shaped_values(values: Any) -> dict:
    if not isinstance(values, dict):
        return {}
    return {
        block_id: {action_id: _shaped_input(entry) for action_id, entry in block.items() if isinstance(entry, dict)}
        for block_id, block in values.items()
        if isinstance(block, dict)
    }


def _shaped_input(entry: dict) -> dict:
    """One input's state (or one clicked element) with each value field kept only when it has Slack's type."""
    shaped = dict(entry)
    for name in _TEXT_FIELDS:
        if name in shaped and shaped[name] is not None and not isinstance(shaped[name], str):
            del shaped[name]
        elif isinstance(shaped.get(name), str):
            shaped[name] = _storable(shaped[name])
    for name in _OPTION_FIELDS:
        if name in shaped and shaped[name] is not None and not _is_option(shaped[name]):
            del shaped[name]
    for name in _LIST_FIELDS:
        if name in shaped and not _is_list_of(shaped[name], _is_option if name == "selected_options" else _is_text):
            del shaped[name]
    return shaped


def _storable(typed: str) -> str:
    """Typed text without NUL and lone surrogates: no keyboard types them, PostgreSQL cannot store NUL and nothing
    can encode a lone surrogate, yet JSON can carry both (as \\u0000 and \\ud800)."""
    if "\x00" not in typed and not any("\ud800" <= c <= "\udfff" for c in typed):
        return typed
    return "".join(c for c in typed if c != "\x00" and not "\ud800" <= c <= "\udfff")


def _is_option(option: Any) -> bool:
    return isinstance(option, dict) and isinstance(option.get("value"), str)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_list_of(items: Any, good: Callable[[Any], bool]) -> bool:
    return isinstance(items, list) and all(good(item) for item in items)


def first_input(view: dict, default: str) -> str:
    """The form's first input, where a problem with the whole form is shown: a field error must name a block the
    form has (Slack refuses others), and what was submitted may leave fields out or add ones the form lacks."""
    return next(iter(_inputs(view)), default)


def _inputs(view: dict) -> list[str]:
    """The block ids of the form's inputs, as the submitted view lists them."""
    blocks = view.get("blocks") if isinstance(view.get("blocks"), list) else []
    found = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"]
    return [block_id for block_id in found if isinstance(block_id, str)]


def answer(values: dict, block_id: str, action_id: str = "answer") -> dict:
    """One input's state in a view submission (empty when absent)."""
    return (values.get(block_id) or {}).get(action_id) or {}


def picked_day(values: dict, block_id: str) -> date | None:
    """A datepicker's date, or None when empty or not a date."""
    try:
        return date.fromisoformat(answer(values, block_id, "day").get("selected_date") or "")
    except ValueError:
        return None


def audit_id_of(value: str) -> int | None:
    """The record id a button or form carries (an audit, an escalation, a case); anything else (forged,
    edited, other digits such as "²") is None."""
    # Ids fit the database's integer: a forged huge number is refused here, not by a database error.
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10 else None


def field_errors(outcome: Outcome, default_field: str) -> dict[str, str]:
    """A refusal as `response_action: errors` for a form: the PII guard's per-field findings, or the refusal's
    words on the field it names (or `default_field`)."""
    if outcome.reason == "pii":
        return {
            field: render("pii_refused", {"findings": found})["text"]
            for field, found in outcome.detail["fields"].items()
        }
    if outcome.reason == "form_errors":  # the form definition's own words, per answer
        return dict(outcome.detail["errors"])
    if outcome.reason == "action_errors":
        extra = {k: v for k, v in outcome.detail.items() if k != "errors"}
        return {
            field: render("refusal", {"reason": code, **extra})["text"]
            for field, code in outcome.detail["errors"].items()
        }
    return {outcome.detail.get("field", default_field): refusal_words(outcome)}


def refusal_words(outcome: Outcome) -> str:
    """The refusal as one line, for a field error in a form."""
    return render("refusal", {"reason": outcome.reason, **outcome.detail})["text"]
