"""Dissemination of learning (QAF Key Area 6): the QA team's learning highlights, posted to the learning channel
with their author, and the monthly top ten, drafted on the first working day of the month from the previous
month's highlights and good-practice nominations, anonymised (no QA or case references, no names), edited and
approved by the QA Head of Service, then posted once. Typed text passes the PII guard before it is stored."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from itertools import chain, zip_longest
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import good_practice, guard, trail
from bot.workflow.directory import QA_TEAM, by_slack_id, everyone_with
from bot.workflow.forms import load_form
from bot.workflow.outcome import Outcome, refused
from store.models import Audit, Highlight, Nomination, OutboxMessage, Person, TopTen
from store.writes import insert_once

HEAD = "qa_head_of_service"
THEME_LIMIT = 120  # the highlights.theme column
TEXT_LIMIT = 2900  # a section block holds 3000 characters
LINK_LIMIT = 500  # the highlights.link column
TOP = 10
URL_PARTS = re.compile(r"[^A-Za-z0-9_-]+")


def channel(settings: Settings) -> str | None:
    """Where learning is posted: the learning channel, or the QA channel when there is none."""
    return settings.learning_channel or settings.qa_channel


def _qa_member(db: Session, slack_user_id: str | None, action: str) -> Person | Outcome:
    """The QA team member asking; anyone else is refused, on the trail."""
    person = by_slack_id(db, slack_user_id) if slack_user_id else None
    if person is None or not person.roles & QA_TEAM:
        trail.record(db, f"refused.{action}", actor=person, actor_slack_id=slack_user_id, reason="not the QA team")
        return refused("learning_not_qa_team")
    return person


# ----- learning highlights ---------------------------------------------------------------------------------------


def highlight_context(db: Session, slack_user_id: str) -> Outcome:
    """What `/qa highlight` and the shortcut open: the empty form, for the QA team only."""
    found = _qa_member(db, slack_user_id, "highlight_open")
    return found if isinstance(found, Outcome) else Outcome(ok=True)


def _web_link(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in link)


def post_highlight(
    db: Session, settings: Settings, slack_user_id: str, theme: str | None, learned: str | None, link: str | None
) -> Outcome:
    """A QA team member's highlight: stored, on the trail and posted to the learning channel naming the author.
    Refusals name the form's field; nothing is stored or posted when any field is refused."""
    person = _qa_member(db, slack_user_id, "highlight_post")
    if isinstance(person, Outcome):
        return person
    to = channel(settings)
    if to is None:
        return refused("learning_no_channel", field="theme")
    theme, learned, link = (theme or "").strip(), (learned or "").strip(), (link or "").strip() or None
    errors = {}
    if not theme:
        errors["theme"] = "highlight_theme_needed"
    elif len(theme) > THEME_LIMIT:
        errors["theme"] = "highlight_theme_too_long"
    if not learned:
        errors["learned"] = "highlight_learned_needed"
    elif len(learned) > TEXT_LIMIT:
        errors["learned"] = "highlight_learned_too_long"
    if link is not None and (len(link) > LINK_LIMIT or not _web_link(link)):
        errors["link"] = "highlight_bad_link"
    if errors:
        return refused("action_errors", errors=errors, theme_limit=THEME_LIMIT, learned_limit=TEXT_LIMIT)
    problem = guard.check(db, {"theme": theme, "learned": learned})
    found = dict(problem.detail["fields"]) if problem else {}
    # A web address is not prose (dates and numbers in it are ordinary), but a case-system link names a case,
    # within its path or query as well as whole.
    if link and (refs := guard.case_ids_in(db, f"{link} {URL_PARTS.sub(' ', link)}")):
        found["link"] = [{"kind": "case_id", "text": ref} for ref in refs]
    if found:
        return refused("pii", fields=found)
    highlight = Highlight(theme=theme, learned=learned, link=link, author_id=person.id, posted_at=now())
    db.add(highlight)
    db.flush()
    trail.record(db, "highlight.posted", actor=person, subject=highlight, channel=to)
    outbox.enqueue(
        db,
        f"highlight:{highlight.id}",
        to,
        "learning_highlight",
        {"theme": theme, "learned": learned, "link": link, "author": person.name},
    )
    return Outcome(ok=True, detail={"highlight_id": highlight.id})


# ----- the month's top ten ---------------------------------------------------------------------------------------


def _bounds(cal: Calendar, month: str) -> tuple[datetime, datetime]:
    year, mon = (int(x) for x in month.split("-"))
    following = months.shift(month, 1)
    next_year, next_mon = (int(x) for x in following.split("-"))
    return cal.at(date(year, mon, 1), time(0)), cal.at(date(next_year, next_mon, 1), time(0))


def _service(audit: Audit) -> str | None:
    """The widest unit an item names: the service of the case's team (a team may be small enough to name people)."""
    team = audit.case.team
    return team.service.name if team is not None and team.service is not None else None


def _drawn(db: Session, cal: Calendar, month: str) -> list[dict[str, Any]]:
    """The month's candidates, anonymised, at most ten: good-practice nominations (best grade first) in turn with
    highlights (oldest first), so both kinds of learning appear. An item whose text the PII guard refuses now
    (a newer case list may name someone) is left out."""
    start, end = _bounds(cal, month)
    highlights = db.scalars(
        select(Highlight)
        .where(Highlight.posted_at >= start, Highlight.posted_at < end)
        .order_by(Highlight.posted_at, Highlight.id)
    )
    nominated = db.execute(
        select(Nomination, Audit)
        .join(Audit, Audit.id == Nomination.audit_id)
        .where(Nomination.status == "queued", Nomination.nominated_at >= start, Nomination.nominated_at < end)
        .order_by(Nomination.nominated_at, Nomination.id)
    ).all()

    def best_first(row: tuple[Nomination, Audit]) -> int:
        best = good_practice.eligible(load_form(row[1].kind).scale)
        return best.index(row[0].grade) if row[0].grade in best else len(best)

    from_nominations = [
        {
            "source": "nomination",
            "source_id": n.id,
            "title": None,
            "grade": n.grade,
            "service": _service(a),
            "text": n.reason,
        }
        for n, a in sorted(nominated, key=best_first)
    ]
    from_highlights = [
        {"source": "highlight", "source_id": h.id, "title": h.theme, "grade": None, "service": None, "text": h.learned}
        for h in highlights
    ]
    drawn: list[dict[str, Any]] = []
    for item in chain.from_iterable(zip_longest(from_nominations, from_highlights)):
        if len(drawn) == TOP:
            break
        if item is not None and guard.check(db, {"title": item["title"], "text": item["text"]}) is None:
            drawn.append(item)
    return drawn


def _approvers(db: Session) -> list[Person]:
    """Who approves the top ten: the QA Heads of Service, or the QA team when there is none."""
    return everyone_with(db, HEAD) or everyone_with(db, "qa_team")


def may_approve(db: Session, person: Person) -> bool:
    """Whether `person` approves the top ten (App Home shows them the drafts too)."""
    return any(p.id == person.id for p in _approvers(db))


def _dm_key(topten: TopTen, person: Person) -> str:
    return f"topten:{topten.id}:dm:{person.id}"


def _shown(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An item as the messages show it: its heading (a theme, or a grade and service) and its text."""
    return [{k: item[k] for k in ("title", "grade", "service", "text")} for item in items]


def _dm_ctx(db: Session, topten: TopTen) -> dict[str, Any]:
    approver = db.get(Person, topten.approved_by_id) if topten.approved_by_id else None
    return {
        "topten_id": topten.id,
        "month": months.words(topten.month),
        "items": _shown(topten.items),
        "status": topten.status,
        "approved_by": approver.name if approver else None,
        "approved_at": topten.approved_at,
    }


def _update_dms(db: Session, topten: TopTen, step: str) -> None:
    """Every approver's copy of the draft, updated in place to show it as it now stands."""
    sent = db.scalars(
        select(OutboxMessage.key).where(
            OutboxMessage.key.like(f"topten:{topten.id}:dm:%"), OutboxMessage.updates_key.is_(None)
        )
    )
    ctx = _dm_ctx(db, topten)
    for key in list(sent):
        outbox.enqueue_update(db, f"{key}:{step}", key, "topten_draft", ctx)


def draft(db: Session, cal: Calendar, month: str, by: Person | None = None) -> TopTen | None:
    """Draft the month's top ten and send it to the approvers. None when the month had nothing (nobody hears of
    it) or its top ten exists already (of two drafts at once, the unique month lets one in)."""
    items = _drawn(db, cal, month)
    if not items:
        return None
    if not insert_once(db, TopTen, "month", month=month, status="draft", items=items, drafted_at=now()):
        return None
    topten = db.scalar(select(TopTen).where(TopTen.month == month))
    approvers = [p for p in _approvers(db) if p.slack_user_id]
    trail.record(
        db,
        "topten.drafted",
        actor=by,
        subject=topten,
        month=month,
        items=len(items),
        nominations=[i["source_id"] for i in items if i["source"] == "nomination"],
        highlights=[i["source_id"] for i in items if i["source"] == "highlight"],
        sent_to=[p.id for p in approvers],
    )
    for person in approvers:
        outbox.enqueue(db, _dm_key(topten, person), person.slack_user_id, "topten_draft", _dm_ctx(db, topten))
    return topten


def sweep(db: Session, cal: Calendar, settings: Settings) -> int:
    """Sweep: from the first working day of the month at the reminder time (09:00), draft the previous month's top
    ten once. A clock that was down that day catches up later in the month."""
    local = cal.local(now())
    first = cal.first_working_day(local.year, local.month)
    if now() < cal.at(first, settings.framework.reminder_time):
        return 0
    month = months.shift(months.of(local), -1)
    if db.scalar(select(TopTen.id).where(TopTen.month == month)) is not None:
        return 0
    return int(draft(db, cal, month) is not None)


def _of_month(db: Session, month: str) -> TopTen | None:
    return db.scalar(select(TopTen).where(TopTen.month == month))


def _decided(db: Session, topten: TopTen) -> Outcome:
    approver = db.get(Person, topten.approved_by_id) if topten.approved_by_id else None
    return refused(
        "topten_decided",
        month=months.words(topten.month),
        by=approver.name if approver else "someone",
        at=topten.approved_at,
    )


def _form_ctx(topten: TopTen) -> Outcome:
    return Outcome(
        ok=True,
        detail={
            "topten_id": topten.id,
            "month": months.words(topten.month),
            "items": _shown(topten.items),
            "values": [item["text"] for item in topten.items],
        },
    )


def on_demand(db: Session, cal: Calendar, slack_user_id: str, month: str) -> Outcome:
    """`/qa topten [YYYY-MM]`: the month's draft, drafted now if there is none (and sent to the approvers), for the
    QA team member to edit. Asking again re-opens the same draft."""
    person = _qa_member(db, slack_user_id, "topten_draft")
    if isinstance(person, Outcome):
        return person
    topten = _of_month(db, month) or draft(db, cal, month, by=person) or _of_month(db, month)
    if topten is None:
        return refused("topten_nothing", month=months.words(month))
    return _form_ctx(topten) if topten.status == "draft" else _decided(db, topten)


def _editor(db: Session, topten_id: int, slack_user_id: str, action: str) -> tuple[Person, TopTen] | Outcome:
    person = _qa_member(db, slack_user_id, action)
    if isinstance(person, Outcome):
        return person
    topten = db.get(TopTen, topten_id)
    if topten is None:
        trail.record(db, f"refused.{action}", actor=person, reason="unknown", topten_id=topten_id)
        return refused("unknown")
    if topten.status != "draft":
        return _decided(db, topten)
    return person, topten


def edit_context(db: Session, topten_id: int, slack_user_id: str) -> Outcome:
    """What the draft's Edit button opens: one box per item."""
    found = _editor(db, topten_id, slack_user_id, "topten_edit")
    return found if isinstance(found, Outcome) else _form_ctx(found[1])


def save_edit(db: Session, topten_id: int, slack_user_id: str, texts: dict[str, str | None]) -> Outcome:
    """The edited wording (field `item-N` per item); an emptied box drops its item. Refusals name the field."""
    found = _editor(db, topten_id, slack_user_id, "topten_edit")
    if isinstance(found, Outcome):
        return found
    person, topten = found
    if len([field for field in texts if field.startswith("item-")]) != len(topten.items):
        # Someone else dropped or kept items since this form was opened: its boxes no longer match the items.
        return refused("topten_changed", field="item-0")
    kept: dict[str, dict[str, Any]] = {}
    errors = {}
    for number, item in enumerate(topten.items):
        field = f"item-{number}"
        text = (texts.get(field) or "").strip()
        if len(text) > TEXT_LIMIT:
            errors[field] = "topten_too_long"
        elif text:
            kept[field] = item | {"text": text}
    if errors:
        return refused("action_errors", errors=errors, limit=TEXT_LIMIT)
    if not kept:
        return refused("topten_empty", field="item-0")
    if problem := guard.check(db, {field: item["text"] for field, item in kept.items()}):
        return problem
    items = list(kept.values())
    # Conditional on the draft: an edit saved after the approval changes nothing that was posted.
    won = db.execute(
        update(TopTen).where(TopTen.id == topten.id, TopTen.status == "draft").values(items=items)
    ).rowcount
    db.refresh(topten)
    if not won:
        return _decided(db, topten)
    event = trail.record(db, "topten.edited", actor=person, subject=topten, items=len(items))
    db.flush()
    _update_dms(db, topten, f"edited:{event.id}")
    return Outcome(ok=True, detail={"month": topten.month})


def approve(db: Session, cal: Calendar, settings: Settings, topten_id: int, slack_user_id: str) -> Outcome:
    """Approve and post: one conditional UPDATE, so a double click or a second approver posts nothing more and is
    told who approved it. The nominations it uses leave the learning queue."""
    person = by_slack_id(db, slack_user_id)
    topten = db.get(TopTen, topten_id)
    if person is None or topten is None:
        trail.record(db, "refused.topten_approve", actor_slack_id=slack_user_id, subject=topten, reason="unknown")
        return refused("unknown")
    if not may_approve(db, person):
        trail.record(db, "refused.topten_approve", actor=person, subject=topten, reason="not the approver")
        return refused("topten_not_approver", month=months.words(topten.month))
    if topten.status != "draft":
        return _decided(db, topten)
    to = channel(settings)
    if to is None:
        return refused("learning_no_channel")
    won = db.execute(
        update(TopTen)
        .where(TopTen.id == topten.id, TopTen.status == "draft")
        .values(status="approved", approved_by_id=person.id, approved_at=now())
    ).rowcount
    db.refresh(topten)
    if not won:
        return _decided(db, topten)
    trail.record(db, "topten.approved", actor=person, subject=topten, items=len(topten.items))
    used = [i["source_id"] for i in topten.items if i["source"] == "nomination"]
    if used:
        db.execute(
            update(Nomination).where(Nomination.id.in_(used), Nomination.status == "queued").values(status="used")
        )
    outbox.enqueue(
        db,
        f"topten:{topten.id}:post",
        to,
        "topten_post",
        {"month": months.words(topten.month), "items": _shown(topten.items)},
    )
    topten.status = "posted"
    trail.record(db, "topten.posted", subject=topten, channel=to, nominations_used=used)
    _update_dms(db, topten, "approved")
    return Outcome(ok=True, detail={"month": topten.month})
