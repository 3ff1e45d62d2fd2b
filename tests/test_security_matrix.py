"""The security matrix, through /slack/events as Slack sends it: every button, modal, shortcut and `/qa` command the
app registers, sent by every person (and a stranger) who may not use it, is refused — ephemerally, on the form's
field, or in their DM — writes nothing but its refusal, and leaves a `refused.*` event naming who tried. Forged
payloads (edited `private_metadata` and button values, ids of someone else's records) are refused the same way, and
never answered with a 500. The matrix is complete by construction: a listener the app registers that the matrix
does not name fails `test_the_matrix_names_everything_the_app_listens_for`.

One world is built per module (every kind of record, each waiting on its people, and every form opened by the person
it is for); a refusal changes nothing, so every case runs against the same world and checks it is unchanged."""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from slack_bolt import App
from sqlalchemy import func, select

import bot.app
import handlers.commands
from bot.config import Settings
from bot.demo import seed
from bot.runtime import Runtime
from bot.sandbox.requests import Response, SignedSender
from bot.sandbox.server import SlackStandIn
from bot.server import background_server
from bot.workflow import allocation, escalation, learning, safeguarding
from bot.workflow.directory import add_person
from messages import render
from store.models import (
    Action,
    ActionExtension,
    Audit,
    Base,
    Case,
    CaseListEntry,
    Dispute,
    Event,
    Highlight,
    IdempotencyKey,
    LoopCheck,
    Moderation,
    PathwayTask,
    Person,
    Theme,
)
from tests.conftest import QA_CHANNEL, SIGNING_SECRET, fresh_database
from tests.test_audit_form import _walk
from tests.test_disputes import _dispute, _opened
from tests.test_inadequate_walk import _moderate, _submit
from tests.test_thematic import _values as theme_values

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
STRANGER = "U0STRANGER"  # in the workspace, not in qabot's directory

# Everyone who may click: the tests' directory, the council above and around it, and a stranger.
PEOPLE = {
    "amira": "U0AUD",  # auditor of Priya's audits
    "oliver": "U0AUD2",  # another auditor, of Cara's audit
    "priya": "U0PRAC",  # practitioner on Amira's audits
    "tom": "U0TM",  # Priya's team manager
    "sara": "U0SM",  # service manager
    "helen": "U0HOS",  # head of service; sponsor of the themes
    "ada": "U0ADA",  # assistant director
    "ed": "U0ED",  # executive director
    "ann": "U0ANN",  # AD Safeguarding, Quality & Practice
    "mo": "U0MOD",  # moderator
    "quinn": "U0QA",  # QA team; lead of the themes
    "hana": "U0HEAD",  # QA Head of Service
    "tess": "U0TESS",  # another team's manager
    "cara": "U0CARA",  # another team's practitioner, whose audit is Oliver's
    "stranger": STRANGER,
}
QA = frozenset({"quinn", "hana"})


@dataclass
class Env:
    rt: Runtime
    standin: SlackStandIn
    slack: SignedSender
    ids: dict[str, int] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def env(_template_db, tmp_path_factory):
    url = fresh_database(_template_db, tmp_path_factory.mktemp("security"))
    freezer = freeze_time(MONDAY_10, tick=True)
    freezer.start()
    try:
        with SlackStandIn() as standin:
            standin.add_channel(QA_CHANNEL, "qa-team")
            standin.invite_bot(QA_CHANNEL)
            settings = Settings(
                slack_bot_token=standin.bot_token,
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=standin.api_url,
                database_url=url,
                qa_channel=QA_CHANNEL,
                case_url="https://casesystem.example/person/{case_id}",
            )
            rt = Runtime.build(settings, timeout=3)
            rt.dispatcher.pace = timedelta(0)
            server, base_url = background_server(rt)
            try:
                sender = SignedSender(f"{base_url}/slack/events", SIGNING_SECRET, standin, settle=rt.settle)
                world = Env(rt, standin, sender)
                _build(world)
                yield world
            finally:
                server.close()
                rt.close()
    finally:
        freezer.stop()


# ----- the world ----------------------------------------------------------------------------------------------------


def _person(db, first: str) -> Person:
    return db.scalar(select(Person).where(Person.slack_user_id == PEOPLE[first]))


def _build(env: Env) -> None:
    rt, standin, slack, ids = env.rt, env.standin, env.slack, env.ids
    seed(rt.database, standin)
    with rt.database.unit_of_work() as db:
        add_person(db, name="Ed Exec", email="ed@council.example", slack_user_id="U0ED", roles=["executive_director"])
        ada = add_person(
            db,
            name="Ada Director",
            email="ada@council.example",
            slack_user_id="U0ADA",
            roles=["assistant_director"],
            manager_email="ed@council.example",
        )
        _person(db, "helen").line_manager = ada
        for name, email, slack_id, role in (
            ("Ann Safeguard", "ann@council.example", "U0ANN", "ad_safeguarding"),
            ("Mo Derator", "mo@council.example", "U0MOD", "moderator"),
            ("Hana Head", "hana@council.example", "U0HEAD", "qa_head_of_service"),
        ):
            add_person(db, name=name, email=email, slack_user_id=slack_id, roles=[role], team="Quality Assurance")
        add_person(
            db,
            name="Tess Teamlead",
            email="tess@council.example",
            slack_user_id="U0TESS",
            roles=["team_manager"],
            team="Children We Care For",
            manager_email="sara@council.example",
        )
        cara = add_person(
            db,
            name="Cara Carer",
            email="cara@council.example",
            slack_user_id="U0CARA",
            roles=["practitioner"],
            team="Children We Care For",
            manager_email="tess@council.example",
        )
        elsewhere = Case(case_ref="CS-30001", category="CLA", team=cara.team, worker=cara, month="2027-01")
        db.add(CaseListEntry(case=elsewhere, month="2027-01", category="CLA", team=cara.team, worker=cara))
        priya = _person(db, "priya")
        for n in range(1, 5):  # three more of Priya's cases (the seed has three), and one to draw
            case = Case(case_ref=f"CS-2000{n}", category="CIN", team=priya.team, worker=priya, month="2027-01")
            db.add(CaseListEntry(case=case, month="2027-01", category="CIN", team=priya.team, worker=priya))
    for p in ("Ed Exec", "Ada Director", "Ann Safeguard", "Mo Derator", "Hana Head", "Tess Teamlead", "Cara Carer"):
        first = p.split()[0].lower()
        standin.add_user(PEOPLE[first], f"{first}@council.example", p)

    # Seven of Priya's audits by Amira, allocated the Monday before; all but the first accepted, met and fed back.
    names = ["allocated", "open", "moderating", "good", "disputed", "inadequate", "spare"]
    with freeze_time(MONDAY_10 - timedelta(days=7)), rt.database.unit_of_work() as db:
        cases = db.scalars(select(Case).where(Case.case_ref != "CS-30001").order_by(Case.id)).all()
        amira = _person(db, "amira")
        elsewhere = db.scalar(select(Case).where(Case.case_ref == "CS-30001"))
        audit = allocation.allocate(db, rt.calendar, rt.settings, elsewhere, _person(db, "oliver"), "2027-01")
        audit.status, audit.accepted_at = "in_progress", MONDAY_10 - timedelta(days=6)
        ids["audit_elsewhere"] = audit.id
        for name, case in zip(names[:-1], cases, strict=False):
            audit = allocation.allocate(db, rt.calendar, rt.settings, case, amira, "2027-01")
            ids[f"audit_{name}"] = audit.id
            if name != "allocated":
                audit.status, audit.accepted_at = "in_progress", MONDAY_10 - timedelta(days=6)
                audit.meeting_at = MONDAY_10 - timedelta(days=3)
                audit.family_feedback = {"how": "visit", "child_voice": "Happier.", "family_view": "Listened to."}
    rt.dispatcher.drain()

    today = MONDAY_10.date()
    for name, grade in (("moderating", "good"), ("good", "good"), ("disputed", "good"), ("inadequate", "inadequate")):
        _submit(rt, slack, standin, ids[f"audit_{name}"], grade, today)
    for name in ("good", "disputed", "inadequate"):
        ids[f"moderation_{name}"] = _moderate(rt, slack, standin, ids[f"audit_{name}"])
    assert _dispute(rt, slack, standin, "U0PRAC", ids["moderation_disputed"]).body == ""

    with rt.database.unit_of_work() as db:
        ids["moderation_pending"] = db.scalar(
            select(Moderation.id).where(Moderation.audit_id == ids["audit_moderating"])
        )
        ids["dispute"] = db.scalar(select(Dispute.id).where(Dispute.audit_id == ids["audit_disputed"]))
        ids["task_meeting"] = db.scalar(
            select(PathwayTask.id).where(
                PathwayTask.audit_id == ids["audit_inadequate"], PathwayTask.kind == "reflective_meeting"
            )
        )
        assert ids["moderation_pending"] and ids["dispute"] and ids["task_meeting"]
        ids["action_open"] = db.scalar(select(Action.id).where(Action.audit_id == ids["audit_moderating"]))
        good, disputed = db.get(Audit, ids["audit_good"]), db.get(Audit, ids["audit_disputed"])
        priya, sara, ann, ed = (_person(db, n) for n in ("priya", "sara", "ann", "ed"))
        # Done, waiting for Tom's sign-off.
        done = db.scalar(select(Action).where(Action.audit_id == good.id))
        done.status, done.done_at, done.done_by_id = "done", MONDAY_10, priya.id
        ids["action_done"] = done.id
        # Extended once by Tom; a second extension waits for Sara.
        extended = db.scalar(select(Action).where(Action.audit_id == ids["audit_inadequate"]))
        extended.extensions = 1
        for number, status, asked in ((1, "granted", None), (2, "requested", sara.id)):
            extension = ActionExtension(
                action_id=extended.id,
                number=number,
                status=status,
                was_due=extended.due_at,
                to_due=extended.due_at + timedelta(days=7 * number),
                reason="The school is closed for a week.",
                requested_by_id=_person(db, "tom").id,
                requested_at=MONDAY_10,
                asked_id=asked,
            )
            db.add(extension)
            db.flush()
        ids["extension"] = extension.id
        # Overdue, escalated to Sara.
        overdue = db.scalar(select(Action).where(Action.audit_id == disputed.id))
        overdue.due_at = MONDAY_10 - timedelta(days=1)
        started = escalation._start(db, rt.calendar, rt.settings, escalation.POLICIES["overdue_action"], overdue)
        ids["escalation"] = started.id
        # An immediate safeguarding concern, alerted and not yet acknowledged.
        ids["safeguarding"] = safeguarding.raise_concern(db, rt.calendar, rt.settings, good, _person(db, "amira")).id
        # The Inadequate pathway's later steps, asked of Ann and of Ed.
        for kind, asked in (("ad_escalation", ann), ("executive", ed)):
            task = PathwayTask(
                audit_id=ids["audit_inadequate"],
                kind=kind,
                asked=[asked.id],
                status="pending",
                created_at=MONDAY_10,
                due_at=MONDAY_10 + timedelta(days=3),
                detail={},
            )
            db.add(task)
            db.flush()
            ids[f"task_{kind}"] = task.id
        # The month's top ten, drafted from a highlight.
        db.add(
            Highlight(
                theme="Direct work",
                learned="Life-story work helped.",
                author_id=_person(db, "quinn").id,
                posted_at=MONDAY_10,
            )
        )
        db.flush()
        ids["topten"] = learning.draft(db, rt.calendar, "2027-01", by=_person(db, "quinn")).id
    rt.dispatcher.drain()

    # Three themes led by Quinn for Helen: one auditing, one awaiting sign-off, one signed off (loop to close).
    for n, (title, picked) in enumerate(
        (("Neglect: lived experience", "CS-100234"), ("Voice of the child", "CS-100871"), ("Drift", "CS-100512"))
    ):
        view = _command_view(env, "U0QA", "theme")
        answer = slack.view_submission("U0QA", view, theme_values(title=title, picked=picked))
        assert answer.body == "", answer.body
        with rt.database.unit_of_work() as db:
            theme = db.scalar(select(Theme).order_by(Theme.id.desc()))
            ids[f"theme_{n}"] = theme.id
            if n >= 1:
                theme.status, theme.summary, theme.reported_at = "awaiting_sign_off", "What we found.", MONDAY_10
            if n == 2:
                theme.status, theme.signed_off_at = "signed_off", MONDAY_10
                theme.signed_off_by_id = theme.sponsor_id
                check = LoopCheck(theme_id=theme.id, stage="six_weeks", status="pending", due_at=MONDAY_10, answers={})
                db.add(check)
                db.flush()
                ids["loop_check"] = check.id
    rt.dispatcher.drain()

    # Every form, as opened by the person it is for.
    for form, user, action, value in (
        ("allocation_decline", "U0AUD", "allocation_decline", ids["audit_allocated"]),
        ("audit_form_step", "U0AUD", "audit_form_open", ids["audit_open"]),
        ("action_done_form", "U0PRAC", "action_done_open", ids["action_open"]),
        ("action_reopen_form", "U0TM", "action_reopen_open", ids["action_done"]),
        ("action_extend_form", "U0TM", "action_extend_open", ids["action_open"]),
        ("dispute_form", "U0PRAC", "dispute_open", ids["moderation_good"]),
        ("dispute_change_form", "U0HEAD", "dispute_change", ids["dispute"]),
        ("dispute_meeting_form", "U0HEAD", "dispute_meeting", ids["dispute"]),
        ("escalation_resolve_form", "U0SM", "escalation_resolve", ids["escalation"]),
        ("escalation_extend_form", "U0SM", "escalation_extend", ids["escalation"]),
        ("family_feedback_form", "U0AUD", "family_feedback_open", ids["audit_open"]),
        ("good_practice_form", "U0AUD", "good_practice_open", ids["audit_good"]),
        ("inadequate_form", "U0SM", "pathway_record", ids["task_meeting"]),
        ("topten_form", "U0QA", "topten_edit", ids["topten"]),
        ("meeting_form", "U0AUD", "meeting_open", ids["audit_open"]),
        ("moderation_form", "U0MOD", "moderation_open", ids["moderation_pending"]),
        ("self_assessment_form", "U0PRAC", "self_assessment_open", ids["audit_open"]),
        ("thematic_report", "U0QA", "thematic_report_open", ids["theme_0"]),
        ("thematic_loop", "U0HOS", "thematic_loop_open", ids["loop_check"]),
    ):
        view = _opened(slack, standin, user, action, value)
        assert view is not None and view["callback_id"] == form, (form, standin.responses[-1:])
        env.views[form] = view
    for form, words in (
        ("allocation_review", "allocate 2027-01"),
        ("group_moderation_form", "group 2027-01"),
        ("highlight_form", "highlight"),
        ("thematic_define", "theme"),
    ):
        env.views[form] = _command_view(env, "U0QA", words)
        assert env.views[form]["callback_id"] == form, (form, standin.responses[-1:])
    env.views["audit_actions"] = _walk(slack, standin, ids["audit_open"])
    rt.dispatcher.drain()


def _command_view(env: Env, user: str, words: str) -> dict[str, Any]:
    before = len([c for c in env.standin.calls if c.method == "views.open"])
    assert env.slack.command(user, "/qa", words).status == 200
    opened = [c for c in env.standin.calls if c.method == "views.open"]
    assert len(opened) > before, (words, env.standin.responses[-1:])
    return opened[-1].response["view"]


# ----- the matrix ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One thing the app listens for: who may use it (first names), the record its value or private_metadata names
    (a key of Env.ids), and where a refusal is answered: `respond` (ephemeral, through response_url), `errors`
    (on the form's field), `dm` (ephemeral in the person's DM with qabot) or `silent` (a closed form: nobody to
    tell; the refusal is only on the trail)."""

    kind: str  # action, view, view_closed, command, shortcut, event
    name: str
    may: frozenset[str]
    record: str | None = None
    answer: str = "respond"


def _e(kind: str, name: str, may, record: str | None = None, answer: str | None = None) -> Entry:
    default = {"view": "errors", "view_closed": "silent", "shortcut": "dm"}.get(kind, "respond")
    return Entry(kind, name, frozenset(may), record, answer or default)


EVERYONE = frozenset(PEOPLE)
AUDITOR, PRACTITIONER, TM = {"amira"}, {"priya"}, {"tom"}
ON_AUDIT = {"amira", "priya", "tom"}
ESCALATION = {"sara"} | QA  # the person at the current level (Sara), or the QA team
ALERTED = {"tom", "sara", "helen", "ann"}  # an immediate safeguarding concern's first alert

MATRIX = [
    # allocation
    _e("action", "allocation_accept", AUDITOR, "audit_allocated"),
    _e("action", "allocation_decline", AUDITOR, "audit_allocated"),
    _e("view", "allocation_decline", AUDITOR, "audit_allocated"),
    _e("command", "allocate", QA),
    _e("view", "allocation_review", QA),
    # the audit
    _e("action", "meeting_open", AUDITOR, "audit_open"),
    _e("view", "meeting_form", AUDITOR, "audit_open"),
    _e("action", "self_assessment_open", PRACTITIONER, "audit_open"),
    _e("view", "self_assessment_form", PRACTITIONER, "audit_open"),
    _e("action", "self_assessment_view", ON_AUDIT, "audit_open"),
    _e("action", "family_feedback_open", AUDITOR, "audit_open"),
    _e("view", "family_feedback_form", AUDITOR, "audit_open"),
    _e("action", "family_feedback_view", ON_AUDIT, "audit_open"),
    _e("action", "audit_form_open", AUDITOR, "audit_open"),
    _e("view", "audit_form_step", AUDITOR, "audit_open"),
    _e("view_closed", "audit_form_step", AUDITOR, "audit_open"),
    _e("view", "audit_actions", AUDITOR, "audit_open"),
    # moderation, good practice, disputes
    _e("action", "moderation_open", {"mo"}, "moderation_pending"),
    _e("view", "moderation_form", {"mo"}, "moderation_pending"),
    _e("command", "group", QA),
    _e("view", "group_moderation_form", QA),
    _e("action", "good_practice_open", AUDITOR, "audit_good"),
    _e("view", "good_practice_form", AUDITOR, "audit_good"),
    _e("action", "dispute_open", PRACTITIONER | TM, "moderation_good"),
    _e("view", "dispute_form", PRACTITIONER | TM, "moderation_good"),
    _e("action", "dispute_uphold", {"hana"}, "dispute"),
    _e("action", "dispute_change", {"hana"}, "dispute"),
    _e("view", "dispute_change_form", {"hana"}, "dispute"),
    _e("action", "dispute_meeting", {"hana"}, "dispute"),
    _e("view", "dispute_meeting_form", {"hana"}, "dispute"),
    # the Inadequate pathway
    _e("action", "pathway_record", {"sara", "helen"}, "task_meeting"),
    _e("view", "inadequate_form", {"sara", "helen"}, "task_meeting"),
    _e("action", "pathway_escalate", {"ann"}, "task_ad_escalation"),
    _e("action", "pathway_acknowledge", {"ed"}, "task_executive"),
    # SMART actions
    _e("action", "action_done_open", PRACTITIONER, "action_open"),
    _e("view", "action_done_form", PRACTITIONER, "action_open"),
    _e("action", "action_sign_off", TM | QA, "action_done"),
    _e("action", "action_reopen_open", TM | QA, "action_done"),
    _e("view", "action_reopen_form", TM | QA, "action_done"),
    _e("action", "action_extend_open", TM, "action_open"),
    _e("view", "action_extend_form", TM, "action_open"),
    _e("action", "action_extension_approve", {"sara"}, "extension"),
    _e("action", "action_extension_refuse", {"sara"}, "extension"),
    _e("action", "digest_snooze", PRACTITIONER, "action_open"),
    # escalations and safeguarding
    _e("action", "escalation_resolve", ESCALATION, "escalation"),
    _e("view", "escalation_resolve_form", ESCALATION, "escalation"),
    _e("action", "escalation_extend", ESCALATION, "escalation"),
    _e("view", "escalation_extend_form", ESCALATION, "escalation"),
    _e("action", "escalation_escalate", ESCALATION, "escalation"),
    _e("action", "safeguarding_ack", ALERTED, "safeguarding"),
    # learning
    _e("command", "highlight", QA),
    _e("shortcut", "qa_highlight", QA),
    _e("view", "highlight_form", QA),
    _e("command", "topten", QA),
    _e("action", "topten_edit", QA, "topten"),
    _e("view", "topten_form", QA, "topten"),
    _e("action", "topten_approve", {"hana"}, "topten"),
    # reports and themes
    _e("command", "report", QA),
    _e("command", "theme", QA),
    _e("view", "thematic_define", QA),
    _e("action", "thematic_findings", {"quinn"}, "theme_0"),
    _e("action", "thematic_report_open", {"quinn"}, "theme_0"),
    _e("view", "thematic_report", {"quinn"}, "theme_0"),
    _e("action", "thematic_sign_off", {"helen"}, "theme_1"),
    _e("action", "thematic_loop_open", {"helen"}, "loop_check"),
    _e("view", "thematic_loop", {"helen"}, "loop_check"),
    # open to everyone: nothing to refuse
    _e("command", "help", EVERYONE),
    _e("event", "app_home_opened", EVERYONE),
]
CASES = [(entry, who) for entry in MATRIX for who in PEOPLE if who not in entry.may]


def _id(value) -> str:
    return f"{value.kind}:{value.name}" if isinstance(value, Entry) else str(value)


# ----- sending, as Slack does ---------------------------------------------------------------------------------------


def _fill(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A plausible answer in every input of a form, so that only who sends it can be wrong."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not element:
            continue
        kind, options = (
            element["type"],
            element.get("options") or [o for g in element.get("option_groups", []) for o in g["options"]],
        )
        if kind in ("plain_text_input", "email_text_input", "url_text_input"):
            answer = "https://casesystem.example/" if kind == "url_text_input" else "Agreed with the team."
        elif kind == "number_input":
            answer = "2"
        elif kind == "datepicker":
            answer = "2027-01-14"
        elif kind == "timepicker":
            answer = "10:00"
        elif kind in ("static_select", "radio_buttons"):
            answer = options[0]["value"]
        elif kind in ("checkboxes", "multi_static_select"):
            answer = [options[0]["value"]]
        elif kind == "users_select":
            answer = "U0PRAC"
        elif kind == "multi_users_select":
            answer = ["U0PRAC"]
        else:
            continue
        values.setdefault(block["block_id"], {})[element["action_id"]] = answer
    return values


SNOOZE = {
    "type": "static_select",
    "action_id": "digest_snooze",
    "options": [{"text": {"type": "plain_text", "text": "Tuesday"}, "value": "2027-01-12"}],
}


def _send(
    env: Env,
    entry: Entry,
    user: str,
    value: str | None = None,
    metadata: str | None = None,
    container: dict[str, Any] | None = None,
    **signing: Any,
) -> Response:
    """`entry` as Slack sends it from `user`: its real button value (or `value`), clicked in a DM (or in
    `container`), its form as opened by the person it is for (with `metadata` as private_metadata when given)."""
    slack = env.slack
    value = value if value is not None else str(env.ids.get(entry.record, ""))
    if entry.kind == "action" and entry.name == "digest_snooze":
        block = f"snooze:action:{value}:2027-01-11"
        return slack.block_action(
            user, entry.name, "2027-01-12", block_id=block, element=SNOOZE, container=container, **signing
        )
    if entry.kind == "action":
        return slack.block_action(user, entry.name, value, container=container, **signing)
    if entry.kind in ("view", "view_closed"):
        view = env.views[entry.name]
        if metadata is not None:
            view = view | {"private_metadata": metadata}
        if entry.kind == "view_closed":
            return slack.view_closed(user, view, _fill(view), **signing)
        return slack.view_submission(user, view, _fill(view), **signing)
    if entry.kind == "command":
        words = {"allocate": "allocate 2027-01", "group": "group 2027-01"}.get(entry.name, entry.name)
        return slack.command(user, "/qa", words, **signing)
    if entry.kind == "shortcut":
        return slack.shortcut(user, entry.name, **signing)
    return slack.app_home_opened(user, **signing)


# ----- what a refusal leaves ----------------------------------------------------------------------------------------

# A refused request still claims its key (so a re-delivery is refused once). The trail is append-only in the database
# itself, so its rows are checked by what was added: refusals only.
UNCOUNTED = {"idempotency_keys", "events"}


def _snapshot(env: Env) -> dict[str, list[tuple]]:
    """Every row of every table, but the trail and the requests' claims."""
    rows = {}
    with env.rt.database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name not in UNCOUNTED:
                query = select(table).order_by(*table.primary_key.columns)
                rows[table.name] = [tuple(map(repr, row)) for row in conn.execute(query)]
    return rows


def _last_event(env: Env) -> int:
    with env.rt.database.unit_of_work() as db:
        return db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def _events_since(env: Env, after: int) -> list[tuple[str, str | None]]:
    with env.rt.database.unit_of_work() as db:
        return [
            (e.kind, e.actor_slack_id) for e in db.scalars(select(Event).where(Event.id > after).order_by(Event.id))
        ]


@pytest.fixture(scope="module")
def baseline(env):
    return {"rows": _snapshot(env)}


def _assert_refused(env: Env, baseline: dict, entry: Entry, user: str, send: Callable[[], Response]) -> None:
    """Send, then check: answered (never a 500), refused where the person is, no form opened, nothing written
    but the refusal, and the refusal on the trail naming who tried."""
    standin = env.standin
    calls, responses, last = len(standin.calls), len(standin.responses), _last_event(env)
    response = send()  # serve drains the outbox after each request; a refusal must have queued nothing there
    try:
        assert response.status == 200, response.body
        new_calls = [c for c in standin.calls[calls:] if c.method != "auth.test"]
        assert [c.method for c in new_calls if c.method.startswith("views.")] == [], "a form was opened"
        if entry.answer == "respond":
            said = standin.responses[responses:]
            assert [r.body.get("response_type") for r in said] == ["ephemeral"], said
        elif entry.answer == "errors":
            answered = response.json() if response.body else {"accepted": "nothing refused"}
            assert answered.get("response_action") == "errors" and answered["errors"], answered
        elif entry.answer == "dm":
            told = [c.args.get("user") for c in new_calls if c.method == "chat.postEphemeral"]
            assert told == [user], new_calls
        else:
            assert response.body == ""
        assert [c.method for c in new_calls if c.method in ("chat.postMessage", "chat.update")] == []
        events = _events_since(env, last)
        assert events and all(kind.startswith("refused.") for kind, _ in events), events
        assert user in {who for _, who in events}, events
        assert _snapshot(env) == baseline["rows"], "something besides the refusal was written"
    except AssertionError:
        baseline["rows"] = _snapshot(env)  # so one failure does not fail every case after it
        raise


@pytest.mark.parametrize(("entry", "who"), CASES, ids=[f"{_id(e)}-by-{w}" for e, w in CASES])
def test_whoever_may_not_use_it_is_refused_and_nothing_is_written(env, baseline, entry, who):
    user = PEOPLE[who]
    _assert_refused(env, baseline, entry, user, lambda: _send(env, entry, user))


# ----- complete by construction -------------------------------------------------------------------------------------

# Bolt's ways to register a listener, and the matrix's kind for each.
LISTENS = {
    "action": "action",
    "block_action": "action",
    "attachment_action": "action",
    "dialog_submission": "view",
    "dialog_cancellation": "view_closed",
    "dialog_suggestion": "options",
    "options": "options",
    "block_suggestion": "options",
    "shortcut": "shortcut",
    "global_shortcut": "shortcut",
    "message_shortcut": "shortcut",
    "command": "command",
    "event": "event",
    "message": "event",
    "view": "view",
    "view_submission": "view",
    "view_closed": "view_closed",
    "function": "function",
}


def _registered(rt: Runtime, monkeypatch) -> tuple[set[tuple[str, str]], int]:
    """What the app, as built for `qabot serve`, listens for; and how many listeners Bolt holds."""
    seen: set[tuple[str, str]] = set()

    def recording(method: str):
        def register(self, constraints, *args, **kwargs):
            seen.add((LISTENS[method], constraints if isinstance(constraints, str) else repr(constraints)))
            return getattr(App, method)(self, constraints, *args, **kwargs)

        return register

    recording_app = type("RecordingApp", (App,), {m: recording(m) for m in LISTENS if hasattr(App, m)})
    monkeypatch.setattr(bot.app, "App", recording_app)
    app = bot.app.build_app(rt)
    return seen, len(app._listeners)


def _subcommands() -> set[str]:
    """The `/qa` words the command answers (its source) and the ones its help lists."""
    answered = set(re.findall(r'words\[:1\] == \["(\w+)"\]', inspect.getsource(handlers.commands)))
    listed = set(re.findall(r"`/qa (\w+)", render("help", {})["blocks"][0]["text"]["text"]))
    assert answered and listed
    return answered | listed


def test_the_matrix_names_everything_the_app_listens_for(env, monkeypatch):
    registered, listeners = _registered(env.rt, monkeypatch)
    assert len(registered) == listeners, "a listener registered twice, or by a way the matrix cannot see"
    assert ("command", "/qa") in registered
    listened = {(kind, name) for kind, name in registered if kind != "command"}
    listened |= {("command", word) for word in _subcommands()}
    in_matrix = {(e.kind, e.name) for e in MATRIX}
    assert listened - in_matrix == set(), "not in the security matrix"
    assert in_matrix - listened == set(), "in the matrix, but the app no longer listens for it"


def test_the_matrix_names_each_thing_once_and_only_people_and_records_there_are(env):
    assert len(MATRIX) == len({(e.kind, e.name) for e in MATRIX})
    assert all(e.may and e.may <= EVERYONE for e in MATRIX)
    assert all(e.record is None or env.ids[e.record] for e in MATRIX)


# ----- forged payloads ----------------------------------------------------------------------------------------------

FORGED = ["", "abc", "-1", "\u0661", "1 OR 1=1", "99999999999", "999999"]  # missing, garbage, too big, none such
AUDITS = {"audit_allocated", "audit_open", "audit_good"}  # entries whose value or form names an audit


def _first_allowed(entry: Entry) -> str:
    return next(who for who in PEOPLE if who in entry.may)


def _forgeries() -> list[tuple[Entry, str]]:
    found = []
    for entry in MATRIX:
        if entry.kind == "action" and entry.record:
            found += [(entry, v) for v in FORGED + (["elsewhere"] if entry.record in AUDITS else [])]
    return found


def _form_forgeries() -> list[tuple[Entry, str]]:
    found = []
    for entry in MATRIX:
        if entry.kind in ("view", "view_closed") and entry.name not in ("highlight_form", "thematic_define"):
            found += [(entry, v) for v in FORGED + ["2027-13"] + (["elsewhere"] if entry.record in AUDITS else [])]
    return found


def _forged(env: Env, forged: str) -> str:
    """The forged value; "elsewhere" is Oliver's audit of Cara's case, which nobody on Priya's audits is on."""
    return str(env.ids["audit_elsewhere"]) if forged == "elsewhere" else forged


@pytest.mark.parametrize(("entry", "forged"), _forgeries(), ids=[f"{_id(e)}-value-{v!r}" for e, v in _forgeries()])
def test_an_edited_button_value_is_refused_and_recorded(env, baseline, entry, forged):
    """The person the button is for, with its value edited: garbage, another audit's id, an id that names nothing."""
    user = PEOPLE[_first_allowed(entry)]
    value = _forged(env, forged)
    _assert_refused(env, baseline, entry, user, lambda: _send(env, entry, user, value=value))


@pytest.mark.parametrize(
    ("entry", "forged"), _form_forgeries(), ids=[f"{_id(e)}-metadata-{v!r}" for e, v in _form_forgeries()]
)
def test_an_edited_private_metadata_is_refused_and_recorded(env, baseline, entry, forged):
    """The person the form is for submits it with its private_metadata edited: garbage, missing, another audit's,
    or a record that does not exist. Nothing is saved and the attempt is on the trail."""
    user = PEOPLE[_first_allowed(entry)]
    _, colon, rest = env.views[entry.name]["private_metadata"].partition(":")
    metadata = _forged(env, forged) + (colon + rest if forged == "elsewhere" else "")
    _assert_refused(env, baseline, entry, user, lambda: _send(env, entry, user, metadata=metadata))


APP_HOME = [e for e in MATRIX if e.kind == "action"]
HOME = {"type": "view", "view_id": "V0HOMETAB"}  # a click in App Home: no channel, message or response_url


@pytest.mark.parametrize("entry", APP_HOME, ids=[_id(e) for e in APP_HOME])
def test_a_click_from_app_home_is_refused_in_the_persons_dm(env, baseline, entry):
    """The same buttons on the Home tab carry no response_url: the refusal is an ephemeral in the person's DM."""
    user = PEOPLE[next(w for w in PEOPLE if w not in entry.may)]
    in_dm = Entry(entry.kind, entry.name, entry.may, entry.record, "dm")
    _assert_refused(env, baseline, in_dm, user, lambda: _send(env, entry, user, container=HOME))


# ----- signatures ---------------------------------------------------------------------------------------------------

# Bolt checks the signature before any listener runs: one of each kind of request shows it.
SIGNED = list({e.kind: e for e in reversed(MATRIX)}.values())


@pytest.mark.parametrize("tamper", ["secret", "stale"])
@pytest.mark.parametrize("entry", SIGNED, ids=[_id(e) for e in SIGNED])
def test_a_bad_or_stale_signature_is_401_and_nothing_is_written(env, baseline, entry, tamper):
    """Sent by the person it is for, but signed with another secret, or more than five minutes ago."""
    user = PEOPLE[_first_allowed(entry)]
    signing = {"secret": "not-the-secret"} if tamper == "secret" else {"timestamp": int(time.time()) - 301}
    claims, last = _claims(env), _last_event(env)
    response = _send(env, entry, user, **signing)
    assert response.status == 401
    assert (_claims(env), _last_event(env)) == (claims, last)
    assert _snapshot(env) == baseline["rows"]


def _claims(env: Env) -> int:
    with env.rt.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(IdempotencyKey))


# ----- and the world was live ---------------------------------------------------------------------------------------

# The one-click decisions (each button that opens a form was opened by its person when the world was built, and the
# read-only views are read by theirs here). Run last: they change the world. Of the extension's two buttons, Approve.
DECIDED = {
    "allocation_accept",
    "action_sign_off",
    "action_extension_approve",
    "digest_snooze",
    "dispute_uphold",
    "escalation_escalate",
    "safeguarding_ack",
    "pathway_escalate",
    "pathway_acknowledge",
    "topten_approve",
    "thematic_findings",
    "thematic_sign_off",
    "family_feedback_view",
}
DECISIONS = [e for e in MATRIX if e.kind == "action" and e.name in DECIDED]


@pytest.mark.parametrize("entry", DECISIONS, ids=[_id(e) for e in DECISIONS])
def test_last_whoever_may_decide_is_not_refused(env, entry):
    """What every case above was refused is what the person it is for may do: the world was waiting on them."""
    user, last = PEOPLE[_first_allowed(entry)], _last_event(env)
    assert _send(env, entry, user).status == 200
    events = _events_since(env, last)
    assert events and not any(kind.startswith("refused.") for kind, _ in events), events
