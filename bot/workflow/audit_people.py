"""Who is on an audit, and the one check every audit step makes: is this person allowed to do this?"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.workflow import trail
from bot.workflow.directory import by_slack_id, manager_with_role
from bot.workflow.outcome import Outcome, refused
from store.models import Audit, Person

REFUSALS = {"auditor": "not_the_auditor", "practitioner": "not_the_practitioner"}


def roles_on(person: Person, audit: Audit) -> set[str]:
    return {
        role
        for role, person_id in (
            ("auditor", audit.auditor_id),
            ("practitioner", audit.practitioner_id),
            ("team_manager", audit.team_manager_id),
        )
        if person_id == person.id
    }


def in_line(audit: Audit, role: str) -> Person | None:
    """Who holds `role` (team manager, service manager, head of service, assistant director...) in the line of the
    audit's practitioner; with no practitioner matched, the audit's team manager anchors the line."""
    practitioner, team_manager = audit.practitioner, audit.team_manager
    if practitioner is not None:
        found = manager_with_role(practitioner, role)
        if found is not None or role != "team_manager":
            return found
    if team_manager is None:
        return None
    return team_manager if role in team_manager.roles else manager_with_role(team_manager, role)


def require(
    db: Session, audit_id: int, slack_user_id: str, role: str, action: str, refusal: str | None = None
) -> tuple[Person, Audit] | Outcome:
    """The person and audit when `slack_user_id` holds `role` on it; otherwise a refusal, on the trail."""
    person = by_slack_id(db, slack_user_id)
    audit = db.get(Audit, audit_id)
    if person is None or audit is None:
        trail.record(
            db, f"refused.{action}", actor_slack_id=slack_user_id, subject=audit, reason="unknown person or audit"
        )
        return refused("unknown")
    if role not in roles_on(person, audit):
        trail.record(db, f"refused.{action}", actor=person, subject=audit, reason=f"not the {role}")
        return refused(refusal or REFUSALS.get(role, "not_on_audit"), qa_ref=audit.qa_ref)
    return person, audit


def on_audit(db: Session, audit_id: int, slack_user_id: str, action: str) -> tuple[Person, Audit, set[str]] | Outcome:
    """The person, audit and their roles on it when they are one of its people; otherwise a refusal, on the
    trail. For what any of the audit's people may do (read what is shared with them)."""
    person = by_slack_id(db, slack_user_id)
    audit = db.get(Audit, audit_id)
    if person is None or audit is None:
        trail.record(db, f"refused.{action}", actor_slack_id=slack_user_id, subject=audit, reason="unknown")
        return refused("unknown")
    roles = roles_on(person, audit)
    if not roles:
        trail.record(db, f"refused.{action}", actor=person, subject=audit, reason="not on the audit")
        return refused("not_on_audit", qa_ref=audit.qa_ref)
    return person, audit, roles
