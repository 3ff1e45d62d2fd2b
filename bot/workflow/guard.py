"""The PII guard as the workflow applies it: every free-text field is checked before it is saved or shown."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.outcome import Outcome, refused
from bot.workflow.pii import find_pii
from store.models import Case, CaseListEntry

INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_-]{2,63}")
# What councils' lists put where there is no worker: not a person's name, and refusing "worker" would refuse
# every mention of a social worker.
PLACEHOLDERS = {"agency worker", "unallocated", "duty worker", "duty", "vacant", "to be allocated", "tba"}


def case_list_names(db: Session) -> list[str]:
    """The people the case lists name (allocated workers): free text must not name them to readers in chat."""
    names = db.scalars(select(Case.worker_name).union(select(CaseListEntry.worker_name)))
    return [name for name in names if name and name.casefold() not in PLACEHOLDERS]


def case_ids_in(db: Session, text: str) -> list[str]:
    """Case-system ids from the case list that the text mentions: in chat an audit is its QA reference."""
    tokens = {t for t in TOKEN.findall(text) if any(c.isdigit() for c in t)}
    if not tokens:
        return []
    return sorted(db.scalars(select(Case.case_ref).where(Case.case_ref.in_(tokens))))


def check(db: Session, texts: Mapping[str, str | None]) -> Outcome | None:
    """None when every field is clean; otherwise a refusal carrying, per form field, what was found."""
    names = case_list_names(db)
    problems = {}
    for field, typed in texts.items():
        if not typed:
            continue
        # Full-width digits and invisible characters must not slip a phone number or postcode past the guard.
        text = unicodedata.normalize("NFKC", typed).translate(INVISIBLE)
        found = [{"kind": f.kind, "text": f.text} for f in find_pii(text, names)]
        found += [{"kind": "case_id", "text": ref} for ref in case_ids_in(db, text)]
        if found:
            problems[field] = found
    return refused("pii", fields=problems) if problems else None
