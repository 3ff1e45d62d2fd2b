"""The PII guard as the workflow applies it: every free-text field is checked before it is saved or shown."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.outcome import Outcome, refused
from bot.workflow.pii import find_pii
from store.models import Case, CaseListEntry, case_list_names_version

INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_-]{2,63}")
# What councils' lists put where there is no worker: not a person's name, and refusing "worker" would refuse
# every mention of a social worker.
PLACEHOLDERS = {"agency worker", "unallocated", "duty worker", "duty", "vacant", "to be allocated", "tba"}


# Per database (its connection pool), the names as of a version of them: read again only when the version has moved.
_names_seen: WeakKeyDictionary[Any, tuple[int, tuple[str, ...]]] = WeakKeyDictionary()
_names_lock = threading.Lock()


def case_list_names(db: Session) -> tuple[str, ...]:
    """The people the case lists name (allocated workers): free text must not name them to readers in chat. Triggers
    move `case_list_names_version` on whenever a name may have changed; until then the names read last are kept."""
    version = db.scalar(select(case_list_names_version.c.version))
    pool = db.get_bind().pool
    with _names_lock:
        seen = _names_seen.get(pool)
    if seen is not None and version is not None and seen[0] == version:
        return seen[1]
    rows = db.scalars(select(Case.worker_name).union(select(CaseListEntry.worker_name)))
    names = tuple(sorted(name for name in rows if name and name.casefold() not in PLACEHOLDERS))
    if version is not None:  # without its row (emptied by hand) nothing says when names change: none are kept
        with _names_lock:
            _names_seen[pool] = (version, names)
    return names


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
