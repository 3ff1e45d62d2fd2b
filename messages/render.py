"""Render the Jinja2 templates in messages/templates/ into Block Kit payloads, and validate them.

Every `{{ … }}` output is JSON-encoded by the environment's `finalize`, so a template writes
`"text": {{ "Hi " ~ name | mrkdwn }}` with no quotes of its own, and no value can break the JSON or add
blocks. Text people typed must still pass `| mrkdwn`, so it cannot @channel, mention anyone or forge a link.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, Undefined, pass_context
from jinja2.runtime import Context

from messages.validate import BlockKitError, check_message, check_view

LONDON = ZoneInfo("Europe/London")
GRADES = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires Improvement",
    "inadequate": "Inadequate",
}
CATEGORIES = {
    "CP": "Child protection",
    "CLA": "Child we care for",
    "care_leaver": "Care leaver",
    "CIN": "Child in need",
    "s47": "Section 47 enquiry",
    "assessment": "Assessment",
    "referral": "Referral",
}
HELD_BACK = {
    "no_worker": "no allocated worker on the list",
    "worker_not_matched": "the worker is not in the staff directory",
    "worker_left": "the worker has left",
    "no_auditor": "no independent auditor has capacity",
}
_TZ = "_tz"  # template variable carrying the render call's time zone to the date filters
_URL_UNSAFE = str.maketrans("", "", "|<>")  # would end the URL early and start a label or a new link


def mrkdwn(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def category(code: str) -> str:
    try:
        return CATEGORIES[code]
    except KeyError:
        raise ValueError(f"unknown case category {code!r}") from None


def held_back(code: str) -> str:
    try:
        return HELD_BACK[code]
    except KeyError:
        raise ValueError(f"unknown held-back reason {code!r}") from None


def grade(code: str) -> str:
    try:
        return GRADES[code]
    except KeyError:
        raise ValueError(f"unknown grade code {code!r}") from None


@pass_context
def day(context: Context, value: date) -> str:
    if isinstance(value, datetime):
        value = _local(value, context[_TZ])
    return value.strftime(f"%A {value.day} %B %Y")  # no leading zero on the day


@pass_context
def when(context: Context, value: datetime) -> str:
    local = _local(value, context[_TZ])
    return local.strftime(f"{local.day} %b %Y, %H:%M")


def link(url: str, label: str) -> str:
    return f"<{url.translate(_URL_UNSAFE)}|{mrkdwn(label)}>"


def _local(value: datetime, tz: tzinfo) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()}: pass an aware one")
    return value.astimezone(tz)


def _json(value: Any) -> str:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises its own clear error, not json's "not JSON serializable"
    return json.dumps(value, ensure_ascii=False)


env = Environment(
    loader=PackageLoader("messages", "templates"),
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_json,
)
env.filters.update(mrkdwn=mrkdwn, grade=grade, category=category, held_back=held_back, day=day, when=when, link=link)


def render(template: str, ctx: dict, *, tz: tzinfo = LONDON) -> dict:
    """Render `templates/<template>.json.j2` as a message: `{"text": ..., "blocks": [...]}`."""
    return _render(template, ctx, tz, check_message)


def render_view(template: str, ctx: dict, *, tz: tzinfo = LONDON) -> dict:
    """Render `templates/<template>.json.j2` as a view (modal or App Home)."""
    return _render(template, ctx, tz, check_view)


def _render(template: str, ctx: dict, tz: tzinfo, check: Callable[[dict], None]) -> dict:
    source = env.get_template(f"{template}.json.j2").render(ctx, **{_TZ: tz})
    try:
        payload = json.loads(source)
        check(payload)
    except (json.JSONDecodeError, BlockKitError) as e:
        raise BlockKitError(f"template {template!r}: {e}") from e
    return payload
