"""Snooze on an item of the daily digest: until one of the next working days, chosen from its list."""

from datetime import date

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow import digests
from handlers.common import act, answer_refusal, audit_id_of, click, unreadable


def _item(block_id: str) -> tuple[str, int, date] | None:
    """What the Snooze list belongs to, from its block_id `snooze:<action|audit>:<id>:<the digest's date>`;
    anything else (forged, edited) is None."""
    parts = block_id.split(":")
    if len(parts) != 4 or parts[0] != "snooze" or parts[1] not in ("action", "audit"):
        return None
    item_id = audit_id_of(parts[2])
    try:
        sent_on = date.fromisoformat(parts[3])
    except ValueError:
        return None
    return (parts[1], item_id, sent_on) if item_id is not None else None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def register(app: App, rt: Runtime) -> None:
    def snooze(body, respond, client):
        chosen = body["actions"][0]
        item = _item(chosen.get("block_id") or "")
        until = _day((chosen.get("selected_option") or {}).get("value") or "")
        if item is None or until is None:
            return answer_refusal(respond, unreadable(rt, body, "digest_snooze"), client=client, body=body)
        subject, item_id, sent_on = item
        user = body["user"]["id"]
        outcome = act(
            rt, body, lambda db: digests.snooze(db, rt.calendar, rt.settings, subject, item_id, sent_on, user, until)
        )
        answer_refusal(respond, outcome, client=client, body=body)

    click(app, "digest_snooze", snooze)
