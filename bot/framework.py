"""The Framework's numbers in one place: the seed QAF's defaults, overridable by a TOML file that
QABOT_FRAMEWORK_FILE names (see framework.example.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path


def _number(default: int, minimum: int) -> int:
    """A whole-number setting and the least value that still means something (checked on load)."""
    return field(default=default, metadata={"minimum": minimum})


@dataclass(frozen=True)
class Framework:
    # Monthly sample: cases drawn per team, and how long a case is left alone after an audit.
    team_quota: int = _number(2, minimum=1)
    recently_audited_months: int = _number(6, minimum=0)
    # Allocation: at most this many audits per auditor per month.
    auditor_monthly_max: int = _number(3, minimum=1)
    # An auditor accepts within 2 working days (reminded then); after 4 the QA team is told.
    accept_within_days: int = _number(2, minimum=1)
    tell_qa_after_days: int = _number(4, minimum=1)
    # The practitioner's self-assessment is due this many working days before the audit meeting.
    self_assessment_days_before_meeting: int = _number(1, minimum=0)
    # A practitioner or team manager may dispute a moderated grade within this many working days of the outcome.
    dispute_within_days: int = _number(10, minimum=1)
    # Inadequate: the Reflective Practice & Action Meeting is held within this many working days of the confirmed
    # grade, and the case is re-audited this many months on (and again, until it is no longer Inadequate).
    reflective_meeting_within_days: int = _number(10, minimum=1)
    reaudit_after_months: int = _number(3, minimum=1)
    # Actions (Key Area 4): the owner's daily digest lists an action from this many working days before it is due.
    action_reminder_days_before: int = _number(2, minimum=0)
    # An overdue action (or one done and awaiting its team manager's sign-off) is listed again every this many
    # working days; 0: only the once.
    action_reminder_every_days: int = _number(5, minimum=0)
    # While an audit's actions are open its team manager is reminded to discuss it in supervision this often
    # (weeks), and more often for a child-protection case.
    supervision_weeks: int = _number(8, minimum=1)
    supervision_weeks_child_protection: int = _number(4, minimum=1)
    # Escalation up the chain (SM -> HoS -> AD -> Executive Director): an action still open this many working days
    # after its due date, or a moderation this many after its deadline, is escalated; each level then has
    # escalation_window_days to resolve, extend or escalate it before it climbs by itself.
    action_escalate_after_days: int = _number(5, minimum=1)
    moderation_escalate_after_days: int = _number(3, minimum=1)
    escalation_window_days: int = _number(3, minimum=1)
    # An acknowledged immediate safeguarding concern is resolved (what was done recorded) by the end of the working
    # day this many working days on; if not, whoever acknowledged it is reminded, and a window later it climbs.
    safeguarding_resolve_within_days: int = _number(1, minimum=0)
    # Scheduled messages (reminders, each person's daily digest) go at this local time on working days.
    reminder_time: time = time(9, 0)


# TOML wants seconds in a time (09:00:00); people write 09:30. A bare HH:MM is never valid TOML, so reading it as
# HH:MM:00 cannot change what a valid file means.
_BARE_CLOCK_TIME = re.compile(r"^(\s*\w+\s*=\s*)(\d{1,2}):(\d\d)(\s*(?:#.*)?)$", re.MULTILINE)
_CLOCK_TIME = re.compile(r"(\d{1,2}):(\d\d)(?::(\d\d))?")


def _time(value: object) -> time | None:
    """A time of day from TOML's own 09:30:00, or a string such as "09:30"."""
    if isinstance(value, time):
        return value
    match = _CLOCK_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        return time(int(match[1]), int(match[2]), int(match[3] or 0)) if match else None
    except ValueError:
        return None


def load_framework(path: str | None) -> Framework:
    """Defaults, with whatever the file sets. Raises ValueError naming the key that is wrong."""
    if not path:
        return Framework()
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        try:
            data = tomllib.loads(_BARE_CLOCK_TIME.sub(lambda m: f"{m[1]}{int(m[2]):02d}:{m[3]}:00{m[4]}", text))
        except tomllib.TOMLDecodeError:
            raise ValueError(f"{path} is not valid TOML: {exc}") from None
    known = {f.name: f for f in fields(Framework)}
    values = {}
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"{path}: unknown setting {key!r} (known: {', '.join(known)})")
        if isinstance(getattr(Framework(), key), time):
            value = _time(value)
            if value is None:
                raise ValueError(f"{path}: {key} must be a time such as 09:00:00")
        else:
            minimum = known[key].metadata["minimum"]
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"{path}: {key} must be a whole number of {minimum} or more, got {value!r}")
        values[key] = value
    return replace(Framework(), **values)
