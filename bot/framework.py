"""The Framework's numbers in one place: the seed QAF's defaults, overridable by a TOML file that
QABOT_FRAMEWORK_FILE names (see framework.example.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from datetime import time
from pathlib import Path


@dataclass(frozen=True)
class Framework:
    # Monthly sample: cases drawn per team, and how long a case is left alone after an audit.
    team_quota: int = 2
    recently_audited_months: int = 6
    # Allocation: at most this many audits per auditor per month.
    auditor_monthly_max: int = 3
    # An auditor accepts within 2 working days (reminded then); after 4 the QA team is told.
    accept_within_days: int = 2
    tell_qa_after_days: int = 4
    # The practitioner's self-assessment is due this many working days before the audit meeting.
    self_assessment_days_before_meeting: int = 1
    # A practitioner or team manager may dispute a moderated grade within this many working days of the outcome.
    dispute_within_days: int = 10
    # Inadequate: the Reflective Practice & Action Meeting is held within this many working days of the confirmed
    # grade, and the case is re-audited this many months on (and again, until it is no longer Inadequate).
    reflective_meeting_within_days: int = 10
    reaudit_after_months: int = 3
    # Actions (Key Area 4): the owner's daily digest lists an action from this many working days before it is due.
    action_reminder_days_before: int = 2
    # An overdue action (or one done and awaiting its team manager's sign-off) is listed again every this many
    # working days; 0: only the once.
    action_reminder_every_days: int = 5
    # While an audit's actions are open its team manager is reminded to discuss it in supervision this often
    # (weeks), and more often for a child-protection case.
    supervision_weeks: int = 8
    supervision_weeks_child_protection: int = 4
    # Escalation up the chain (SM -> HoS -> AD -> Executive Director): an action still open this many working days
    # after its due date, or a moderation this many after its deadline, is escalated; each level then has
    # escalation_window_days to resolve, extend or escalate it before it climbs by itself.
    action_escalate_after_days: int = 5
    moderation_escalate_after_days: int = 3
    escalation_window_days: int = 3
    # An acknowledged immediate safeguarding concern is resolved (what was done recorded) by the end of the working
    # day this many working days on; if not, whoever acknowledged it is reminded, and a window later it climbs.
    safeguarding_resolve_within_days: int = 1
    # Scheduled messages (reminders, each person's daily digest) go at this local time on working days.
    reminder_time: time = time(9, 0)


def load_framework(path: str | None) -> Framework:
    """Defaults, with whatever the file sets. Raises ValueError naming the key that is wrong."""
    if not path:
        return Framework()
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    known = {f.name: f for f in fields(Framework)}
    values = {}
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"{path}: unknown setting {key!r} (known: {', '.join(known)})")
        default = getattr(Framework(), key)
        if isinstance(default, time):
            if not isinstance(value, time):
                raise ValueError(f"{path}: {key} must be a time such as 09:00:00")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{path}: {key} must be a whole number of 0 or more")
        values[key] = value
    return replace(Framework(), **values)
