"""The PII corpus (tests/pii_corpus.py): the guard's hit rate on it, printed at the end of the run; and the corpus
typed, as Slack sends it, into every free-text field of every form qabot opens and into the /qa command, after which
nothing of it is anywhere in what the Slack stand-in was sent: messages, updates, ephemeral and response_url
answers, channel posts, uploaded files, App Home tabs and views.

Family feedback is stored and shown only to the people on the audit (DESIGN, Data protection), but it is still in
Slack (a modal is disclosable, like a message) and the family's details belong in the case record: the guard refuses
all six kinds there as everywhere else, and this test types them in like any other field."""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from freezegun import freeze_time
from sqlalchemy import select

from bot import cli
from bot.workflow import digests
from bot.workflow.forms import load_form
from scheduler.jobs import tick
from store.models import (
    Action,
    Audit,
    Case,
    CaseListEntry,
    Dispute,
    Escalation,
    LoopCheck,
    Moderation,
    PathwayTask,
    Person,
    Theme,
    TopTen,
)
from tests.pii_corpus import (
    CATEGORIES,
    PII_TABLE,
    TRADE_OFF,
    Sample,
    case_list_names,
    control,
    corpus,
    hit_rates,
    leak_pattern,
    table,
)
from tests.test_inadequate_walk import council  # noqa: F401 (a fixture)

LONDON = ZoneInfo("Europe/London")
NAMES = case_list_names()
SAMPLES = corpus(names=NAMES)
CONTROL = control()
TEMPLATES = Path(__file__).resolve().parents[1] / "messages" / "templates"
COLLABORATIVE = load_form("collaborative")
SYNTAX_FIELDS = {
    ("allocation_review", "add"),
    ("thematic_define", "picked"),
    ("thematic_define", "month"),
    ("thematic_define", "size"),
    ("highlight_form", "link"),
}
CLEAN = "Seen in the records and at the meeting; the plan was reviewed with the family."


# -- the guard's figures ----------------------------------------------------------------------------------------


def test_the_corpus_is_what_it_says():
    by_kind = defaultdict(list)
    for sample in SAMPLES:
        by_kind[sample.category].append(sample)
        assert sample.value in sample.text
    assert all(len(by_kind[kind]) >= 100 for kind in CATEGORIES), {k: len(v) for k, v in by_kind.items()}
    assert by_kind[TRADE_OFF], "lower-case names that are also words are measured"
    assert corpus(names=NAMES) == SAMPLES and control() == CONTROL  # seeded
    digits = [re.sub(r"\D", "", s.value) for s in by_kind["nhs_number"]]
    from bot.workflow.pii import nhs_number_valid

    assert all(nhs_number_valid(d) for d in digits)
    assert len(set(digits)) > 100
    formats = {re.sub(r"[0-9]", "9", re.sub(r"[A-Za-z]", "A", s.value)) for s in by_kind["postcode"]}
    assert {"A9 9AA", "A99 9AA", "AA9 9AA", "AA99 9AA", "A9A 9AA", "AA9A 9AA", "AA999AA"} <= formats
    assert any(s.value == s.value.lower() for s in by_kind["postcode"])
    names_typed = {s.value for s in by_kind["name"]}
    assert any(" " in v for v in names_typed) and any(v.islower() for v in names_typed)
    assert any(s.text.startswith(s.value) and s.text[len(s.value) : len(s.value) + 2] == "'s" for s in by_kind["name"])


def test_the_guard_catches_the_corpus_and_passes_ordinary_text(request):
    rates = hit_rates(SAMPLES, CONTROL, NAMES)
    request.config.stash[PII_TABLE] = table(rates)
    for kind in CATEGORIES:
        caught, total = rates[kind]
        assert caught == total, f"{kind}: {caught}/{total} caught"
    alarms, total = rates["control"]
    assert alarms == 0, f"{alarms}/{total} ordinary sentences refused"
    # The trade-off: a lower-case first name that is also a word ("grace") is read as the word.
    assert rates[TRADE_OFF][0] == 0


def test_the_leak_search_finds_a_detail_however_it_is_spaced():
    assert leak_pattern("943 476 5919").search('{"text": "NHS 943-476-5919."}')
    assert leak_pattern("RH12 1AB").search("moved to rh121ab")
    assert leak_pattern("Mary-Ann O'Neill").search("mary ann o\u2019neill said")
    assert not leak_pattern("943 476 5919").search("ts 1799434765919001")
    assert not leak_pattern("Leo").search("leopard")


# -- every field, as Slack sends it -----------------------------------------------------------------------------


def _at(y, m, d, h=10, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=LONDON)


def _options(element):
    groups = element.get("option_groups", [])
    return [*element.get("options", []), *(o for g in groups for o in g["options"])]


class Typist:
    """Types the corpus into forms the way a person would, through the stand-in and the signed HTTP endpoint:
    each free-text field in turn gets a sample of each kind of detail while the other fields hold ordinary
    answers, and must come back refused on that field; then the form is sent with ordinary answers."""

    TEXT_INPUTS = ("plain_text_input",)

    def __init__(self, rt, slack, standin):
        self.rt, self.slack, self.standin = rt, slack, standin
        self.pools = {kind: itertools.cycle([s for s in SAMPLES if s.category == kind]) for kind in CATEGORIES}
        self.typed: list[Sample] = []
        self.covered: set[tuple[str, str]] = set()  # (callback_id, block_id)
        self.not_by_guard: set[tuple[str, str]] = set()  # fields refused for their syntax before the guard reads them

    def sample(self, kind: str) -> Sample:
        sample = next(self.pools[kind])
        self.typed.append(sample)
        return sample

    def opened(self, user: str, action: str, value) -> dict:
        before = len([c for c in self.standin.calls if c.method == "views.open"])
        self.slack.block_action(user, action, str(value))
        opened = [c for c in self.standin.calls if c.method == "views.open"]
        assert len(opened) > before, f"{action} {value} opened no form for {user}: {self.standin.responses[-1:]}"
        return opened[-1].response["view"]

    def command(self, user: str, text: str) -> dict:
        before = len([c for c in self.standin.calls if c.method == "views.open"])
        assert self.slack.command(user, "/qa", text).status == 200
        opened = [c for c in self.standin.calls if c.method == "views.open"]
        assert len(opened) > before, f"/qa {text} opened no form: {self.standin.responses[-1:]}"
        return opened[-1].response["view"]

    @staticmethod
    def text_fields(view: dict) -> list[str]:
        return [
            b["block_id"]
            for b in view.get("blocks", [])
            if b.get("type") == "input" and b.get("element", {}).get("type") in Typist.TEXT_INPUTS
        ]

    @staticmethod
    def fill(view: dict, given: dict) -> dict:
        """Ordinary answers for every input: `given` (block id -> value), else ordinary text, else a select's
        initial choice or "no" or its first option; other inputs keep their initial value."""
        values = {}
        for block in view.get("blocks", []):
            element = block.get("element")
            if block.get("type") != "input" or not element:
                continue
            block_id, kind = block["block_id"], element["type"]
            if block_id in given:
                value = given[block_id]
            elif kind in Typist.TEXT_INPUTS:
                value = element.get("initial_value", CLEAN)
            elif kind in ("static_select", "radio_buttons") and "initial_option" not in element:
                choices = [o["value"] for o in _options(element)]
                value = "no" if "no" in choices else choices[0]
            else:
                continue
            values[block_id] = {element["action_id"]: value}
        return values

    def form(self, user: str, view: dict, given: dict | None = None, *, along: dict | None = None, wrap=None):
        """Each text field refused for each kind of detail; then submitted with `given` and ordinary text, and the
        answer returned. `along` gives, per text field, what must go with it for the guard to be reached (an
        action's owner and date); `wrap` shapes a sample for a field with a syntax (a thematic question)."""
        given = given or {}
        callback = view["callback_id"]
        for field in self.text_fields(view):
            for kind in CATEGORIES:
                sample = self.sample(kind)
                typed = wrap(field, sample.text) if wrap else sample.text
                values = self.fill(view, {**given, **(along or {}).get(field, {}), field: typed})
                answer = self.slack.view_submission(user, view, values)
                assert answer.status == 200, answer.body
                body = answer.json() if answer.body else {}
                assert body.get("response_action") == "errors" and field in body["errors"], (
                    f"{callback}.{field} took {kind}: {sample.text!r} -> {answer.body!r}"
                )
                if not body["errors"][field].startswith("Please remove "):
                    self.not_by_guard.add((callback, field))
            self.covered.add((callback, field))
        answer = self.slack.view_submission(user, view, self.fill(view, given))
        assert answer.status == 200, answer.body
        body = answer.json() if answer.body else {}
        assert body.get("response_action") != "errors", f"{callback}: ordinary answers refused: {body}"
        self.rt.dispatcher.drain()
        return body

    def commands(self, user: str, words: list[str]) -> None:
        """`/qa <word> <detail>` for each kind of detail: the command's text is typed too."""
        for word in words:
            for kind in CATEGORIES:
                sample = self.sample(kind)
                assert self.slack.command(user, "/qa", f"{word} {sample.text}".strip()).status == 200
            self.covered.add(("/qa", word or "(help)"))


def _template_forms() -> dict[str, re.Pattern[str]]:
    """Each template with a free-text input, and a pattern for the callback_id(s) it renders."""
    forms = {}
    for path in sorted(TEMPLATES.glob("*.json.j2")):
        source = path.read_text()
        if not any(f'"{kind}"' in source for kind in Typist.TEXT_INPUTS):
            continue
        found = re.search(r'"callback_id":\s*(?:"([^"]+)"|\{\{(.+?)\}\})', source)
        assert found, f"{path.name} has a text input but no callback_id"
        if found.group(1):
            forms[path.name] = re.compile(re.escape(found.group(1)))
        else:  # an expression such as "escalation_" ~ form ~ "_form"
            parts = re.findall(r'"([^"]*)"|(\w+)', found.group(2))
            forms[path.name] = re.compile("".join(re.escape(lit) if lit else ".+" for lit, _ in parts))
    return forms


def _records(standin) -> list[tuple[str, str]]:
    """Everything the bot sent to Slack, as (where, text): every Web API call's arguments (messages, updates,
    ephemerals, views opened, pushed, updated and published), every response_url answer, every uploaded file."""
    found = [(f"{c.method} {c.args.get('channel', '')}", json.dumps(c.args, ensure_ascii=False)) for c in standin.calls]
    found += [("response_url", json.dumps(r.body, ensure_ascii=False)) for r in standin.responses]
    for f in standin.files():
        content = f.get("content") or f.get("data") or b""
        text = content.decode("utf-8-sig", "replace") if isinstance(content, bytes) else str(content)
        found.append((f"file {f.get('name') or f.get('title')}", f"{f.get('title')} {f.get('name')} {text}"))
    return found


def _one(rt, model, *where):
    with rt.database.unit_of_work() as db:
        row = db.scalar(select(model).where(*where).order_by(model.id.desc()))
        db.expunge_all()
        return row


def _seed_case_list(rt):
    """Last month's case list names the agency workers the corpus names: the guard learns them from it."""
    with rt.database.unit_of_work() as db:
        for n, name in enumerate(NAMES):
            case = Case(case_ref=f"AG-{n}", category="CIN", worker_name=name, team_name="Agency", month="2026-12")
            db.add(CaseListEntry(case=case, month="2026-12", category="CIN", team_name="Agency", worker_name=name))


def test_the_corpus_typed_into_every_field_reaches_no_one(
    rt,
    standin,
    slack,
    council,  # noqa: F811
    cli_env,
    tmp_path,
    capsys,
):
    _seed_case_list(rt)
    typist = Typist(rt, slack, standin)
    form = typist.form

    with freeze_time(_at(2027, 1, 11), tick=True):
        # The month's sample: the review form's "add cases" box, then allocate as drawn.
        view = typist.command("U0QA", "allocate 2027-01")
        keep = {
            b["block_id"]: [o["value"] for o in b["element"]["options"]]
            for b in view["blocks"]
            if b.get("block_id", "").startswith("keep_")
        }
        form("U0QA", view, {**keep, "add": None})
        audits = _all(rt, Audit)
        assert sorted(a.auditor.slack_user_id for a in audits) == ["U0AUD", "U0AUD2"]
        first, second = sorted(audits, key=lambda a: a.auditor.slack_user_id)

        # Oliver passes his back, with a reason.
        form("U0AUD2", typist.opened("U0AUD2", "allocation_decline", second.id))

        # The first: accepted, the meeting held last Friday.
        slack.block_action("U0AUD", "allocation_accept", str(first.id))
        with rt.database.unit_of_work() as db:
            db.get(Audit, first.id).meeting_at = _at(2027, 1, 8)

        form("U0PRAC", typist.opened("U0PRAC", "self_assessment_open", first.id))
        # The reason it could not be obtained is read only when it could not be (a reason typed before choosing
        # another way is dropped, not kept), so that is when it is typed.
        feedback = typist.opened("U0AUD", "family_feedback_open", first.id)
        form("U0AUD", feedback, {"how": "visit"}, along={"reason": {"how": "not_obtained"}})
        _audit_form(typist, first.id, overall="requires_improvement")

        moderation = _one(rt, Moderation, Moderation.audit_id == first.id)
        # What others should learn is read when a Good audit is nominated: the moderator upgrades it to say so.
        nominate = {"good-practice-reason": {"good-practice": ["nominate"], COLLABORATIVE.overall.id: "good"}}
        given = {"mode": "reflective", "good-practice-reason": None}
        form("U0MOD", typist.opened("U0MOD", "moderation_open", moderation.id), given, along=nominate)
        form("U0PRAC", typist.opened("U0PRAC", "dispute_open", moderation.id))
        dispute = _one(rt, Dispute, Dispute.audit_id == first.id)
        form("U0HEAD", typist.opened("U0HEAD", "dispute_change", dispute.id), {"grade": "good"})
        form("U0AUD", typist.opened("U0AUD", "good_practice_open", first.id))

        action = _one(rt, Action, Action.audit_id == first.id)
        form("U0PRAC", typist.opened("U0PRAC", "action_done_open", action.id), {"link": None})
        form("U0TM", typist.opened("U0TM", "action_reopen_open", action.id))
        form("U0TM", typist.opened("U0TM", "action_extend_open", action.id), {"to": "2027-01-29"})

        form("U0QA", typist.command("U0QA", "highlight"), {"link": None})
        typist.commands("U0QA", ["report", "allocate", "group", "topten", ""])

        # The command line's typed reasons: an export's and a reallocation's, each refused in one line.
        for kind in CATEGORIES:
            reason = typist.sample(kind).text
            export = ["export", "--from", "2027-01-01", "--to", "2027-01-31", "--by", "quinn@council.example"]
            assert cli.main([*export, "--reason", reason, "--out", str(tmp_path / kind)]) == 2
            move = ["reallocate", second.qa_ref, "--by", "quinn@council.example", "--reason", reason]
            assert cli.main(move) == 2
            assert "must not carry personal details" in capsys.readouterr().err
        typist.covered |= {("qabot export", "--reason"), ("qabot reallocate", "--reason")}

    # The Inadequate pathway: the third case audited Inadequate, moderated, and the Service Manager records the
    # Reflective Practice & Action Meeting.
    with freeze_time(_at(2027, 1, 12), tick=True):
        third = _allocate_directly(rt, council)
        _audit_form(typist, third, overall="inadequate", type_pii=False)
        moderation = _one(rt, Moderation, Moderation.audit_id == third)
        agreed = {"mode": {"answer": "reflective"}}
        assert (
            slack.view_submission("U0MOD", typist.opened("U0MOD", "moderation_open", moderation.id), agreed).body == ""
        )
        rt.dispatcher.drain()
        task = _one(rt, PathwayTask, PathwayTask.audit_id == third, PathwayTask.kind == "reflective_meeting")
        form("U0SM", typist.opened("U0SM", "pathway_record", task.id), {"held_on": "2027-01-12"})

    # February: the top ten of January, edited and approved; a thematic audit defined, completed and reported.
    with freeze_time(_at(2027, 2, 1), tick=True):
        topten_view = typist.command("U0HEAD", "topten 2027-01")
        form("U0HEAD", topten_view)
        topten = _one(rt, TopTen)
        slack.block_action("U0HEAD", "topten_approve", str(topten.id))
        rt.dispatcher.drain()

        _thematic(typist)

    # An action left open past its date climbs to the Service Manager, who extends it, then resolves it.
    overdue = _overdue_action(rt, first.id)
    tick(rt, _at(2027, 3, 30, 9))
    with freeze_time(_at(2027, 3, 30, 11), tick=True):
        escalation = _one(rt, Escalation, Escalation.policy == "overdue_action", Escalation.subject_id == overdue)
        form("U0SM", typist.opened("U0SM", "escalation_extend", escalation.id), {"to": "2027-04-09"})

        # Six weeks after the sign-off, the sponsor records the first close-the-loop check.
        check = _one(rt, LoopCheck, LoopCheck.stage == "six_weeks")
        form("U0HOS", typist.opened("U0HOS", "thematic_loop_open", check.id))

    # Still open five working days after its new date: it climbs again, and she resolves it.
    tick(rt, _at(2027, 4, 16, 9))
    with freeze_time(_at(2027, 4, 16, 11), tick=True):
        escalation = _one(rt, Escalation, Escalation.policy == "overdue_action", Escalation.status == "pending")
        form("U0SM", typist.opened("U0SM", "escalation_resolve", escalation.id))

    # The rest of the season's messages, and everyone's Home tab.
    for day in (_at(2027, 4, 19, 9), _at(2027, 4, 20, 9)):
        tick(rt, day)
    with freeze_time(_at(2027, 4, 20, 12), tick=True):
        assert slack.command("U0QA", "/qa", "report 2027Q1").status == 200  # with its CSV and chart
        rt.dispatcher.drain()
        for person in _all(rt, Person):
            if person.slack_user_id:
                slack.app_home_opened(person.slack_user_id)

    # Every form with a free-text box was opened, and each of its boxes typed into.
    opened = {
        (c.args["view"]["callback_id"], field)
        for c in standin.calls
        if c.method in ("views.open", "views.push", "views.update") and c.ok
        for field in Typist.text_fields(c.args["view"])
    }
    assert opened - typist.covered == set(), "free-text fields never typed into"
    callbacks = {callback for callback, _ in typist.covered}
    missing = [t for t, pattern in _template_forms().items() if not any(pattern.fullmatch(c) for c in callbacks)]
    assert missing == [], f"forms with a free-text box this test never opened: {missing}"

    # Every box refuses the corpus through the guard, but those that take only a syntax (case IDs, a month, a
    # number, a web address), which refuse it first.
    assert typist.not_by_guard == SYNTAX_FIELDS

    # Nothing typed reached Slack.
    records = _records(standin)
    assert len(records) > 150 and any(r[0].startswith("file qa-report-2027Q1.csv") for r in records), records[-5:]
    # The search sees what the bot did post: the highlight's ordinary words in the channel, everyone's Home tab.
    posted = [text for where, text in records if where == "chat.postMessage C0QATEAM"]
    assert any(leak_pattern("the plan was reviewed with the family").search(text) for text in posted)
    assert {"views.publish", "chat.update", "views.open", "files.completeUploadExternal"} <= {
        where.split()[0] for where, _ in records
    }
    leaks = [
        (sample.category, sample.value, where)
        for sample in {s.value: s for s in typist.typed}.values()
        for where, text in records
        if leak_pattern(sample.value).search(text)
    ]
    assert leaks == [], f"{len(leaks)} details reached Slack: {leaks[:20]}"
    kinds = defaultdict(int)
    for sample in typist.typed:
        kinds[sample.category] += 1
    assert set(kinds) == set(CATEGORIES) and min(kinds.values()) >= 50, dict(kinds)


def _all(rt, model):
    with rt.database.unit_of_work() as db:
        rows = db.scalars(select(model).order_by(model.id)).all()
        for row in rows:
            if isinstance(row, Audit):
                _ = row.auditor.slack_user_id  # loaded now, read after the session closes
        db.expunge_all()
        return rows


def _audit_form(typist: Typist, audit_id: int, overall: str, type_pii: bool = True) -> None:
    """The audit form, step by step, then its SMART actions."""
    view = typist.opened("U0AUD", "audit_form_open", audit_id)
    given = {COLLABORATIVE.overall.id: overall}
    while view["callback_id"] == "audit_form_step":
        if type_pii:
            answer = typist.form("U0AUD", view, given)
        else:
            answer = typist.slack.view_submission("U0AUD", view, typist.fill(view, given)).json()
        view = answer["view"] | {"id": view["id"], "hash": view.get("hash")}
    due = (date.today() + timedelta(days=7)).isoformat()
    companions = _owners_and_dates()
    first = {"action_1": "Update the plan with the school.", "owner_1": "U0PRAC", "due_1": due}
    first |= {f"action_{n}": None for n in range(2, 6)}
    if type_pii:
        typist.form("U0AUD", view, first, along=companions)
    else:
        assert typist.slack.view_submission("U0AUD", view, typist.fill(view, first)).body == ""
        typist.rt.dispatcher.drain()


def _owners_and_dates() -> dict:
    """An action's owner and date, which must come with its words for them to be read."""
    due = (date.today() + timedelta(days=7)).isoformat()
    return {f"action_{n}": {f"owner_{n}": "U0PRAC", f"due_{n}": due} for n in range(1, 6)}


def _allocate_directly(rt, world) -> int:
    from bot.workflow import allocation

    with rt.database.unit_of_work() as db:
        case = db.scalar(select(Case).where(Case.case_ref == "CS-100512"))
        amira = db.get(Person, world.people["amira"])
        audit = allocation.allocate(db, rt.calendar, rt.settings, case, amira, "2027-01")
        audit.status, audit.meeting_at = "in_progress", _at(2027, 1, 8)
        audit.family_feedback = {"how": "visit", "child_voice": "Wants to stay.", "family_view": "Listened to."}
        db.flush()
        return audit.id


def _overdue_action(rt, audit_id: int) -> int:
    with rt.database.unit_of_work() as db:
        priya = db.scalar(select(Person).where(Person.slack_user_id == "U0PRAC"))
        action = Action(
            audit_id=audit_id,
            description="Share the updated plan with the school.",
            owner_id=priya.id,
            status="open",
            due_at=rt.calendar.at(date(2027, 3, 19), rt.calendar.end),
            created_at=_at(2027, 3, 1),
        )
        db.add(action)
        digests.schedule_action(rt.calendar, rt.settings, action)
        db.flush()
        return action.id


def _thematic(typist: Typist) -> None:
    """/qa theme: defined (its questions typed in as questions), each audit's answers, the overview report, the
    sponsor's sign-off."""
    questions = "grade: Is the child's lived experience understood?\ntext: What would have made the difference?"

    def as_question(field, text):
        return f"text: {text}" if field == "questions" else text

    given = {
        "title": "Neglect: the child's lived experience",
        "trigger": "ofsted",
        "sponsor": "U0HOS",
        "month": None,
        "size": None,
        "picked": "CS-100234\nCS-100871",
        "questions": questions,
        "audits_by": "2027-02-12",
        "report_by": "2027-02-19",
    }
    # The month and how many are read when the cases are drawn rather than picked.
    drawn = {"month": {"picked": None}, "size": {"picked": None, "month": "2027-01"}}
    typist.form("U0QA", typist.command("U0QA", "theme"), given, along=drawn, wrap=as_question)
    theme = _one(typist.rt, Theme)
    for audit in [a for a in _all(typist.rt, Audit) if a.kind == "thematic"]:
        auditor = audit.auditor.slack_user_id
        typist.slack.block_action(auditor, "allocation_accept", str(audit.id))
        view = typist.opened(auditor, "audit_form_open", audit.id)
        answer = typist.form(auditor, view, {"q1": "good"})
        actions = {f"action_{n}": None for n in range(1, 6)}
        typist.form(auditor, answer["view"] | {"id": view["id"]}, actions, along=_owners_and_dates())
    report = typist.opened("U0QA", "thematic_report_open", theme.id)
    typist.form("U0QA", report, {"recommendations": "Record the child's words at every visit.\nReview plans monthly."})
    typist.slack.block_action("U0HOS", "thematic_sign_off", str(theme.id))
    typist.rt.dispatcher.drain()
