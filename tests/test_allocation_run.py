"""The month's allocation: the seeded sample, independent and balanced auditors, the QA team's review in
Slack (`/qa allocate`) and on the command line, and the month-start prompt."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun import freeze_time
from sqlalchemy import func, select

from bot import cli
from bot.framework import Framework
from bot.workflow import allocation_run, caselist
from bot.workflow.annex_a import CaseList, CaseRecord
from bot.workflow.caselist import LIST_OF
from bot.workflow.directory import add_person
from scheduler.jobs import tick
from store.models import AllocationRun, Audit, Case, CaseListEntry, Event, OutboxMessage, Person

LONDON = ZoneInfo("Europe/London")
MONDAY_9 = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
FW = Framework(team_quota=2, auditor_monthly_max=2)


def _add_cases(rt, cases, month="2027-01"):
    """cases: (case_ref, category, worker's first name or None)."""
    with rt.database.unit_of_work() as db:
        people = {p.name.split()[0].lower(): p for p in db.scalars(select(Person))}
        for ref, category, worker in cases:
            person = people.get(worker)
            team = person.team if person else None
            case = Case(case_ref=ref, category=category, worker=person, team=team, month=month)
            db.add(CaseListEntry(case=case, month=month, category=category, worker=person, team=team))


def _second_team(rt):
    """A second team with its own practitioner, and an auditor who works in Priya's team."""
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Cara Carer",
            email="cara@council.example",
            slack_user_id="U0CARA",
            roles=["practitioner"],
            team="Children We Care For",
            manager_email="sara@council.example",
        )
        add_person(
            db,
            name="Nina Nearby",
            email="nina@council.example",
            slack_user_id="U0NINA",
            roles=["auditor"],
            team="Family Support North",
            manager_email="tom@council.example",
        )


def _selected(rt, run_id) -> list[str]:
    with rt.database.unit_of_work() as db:
        run = db.get(AllocationRun, run_id)
        return sorted(db.scalars(select(Case.case_ref).where(Case.id.in_(run.selected))))


def test_the_sample_takes_a_quota_per_team_across_categories(rt, world):
    _second_team(rt)
    _add_cases(
        rt,
        [(f"CP-{n}", "CP", "priya") for n in range(3)]
        + [(f"CIN-{n}", "CIN", "priya") for n in range(3)]
        + [(f"CLA-{n}", "CLA", "cara") for n in range(4)],
    )
    with freeze_time(MONDAY_9), rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-01", FW, seed=7)
        run_id = run.id
        assert run.parameters["team_quota"] == 2 and run.seed == 7
    chosen = _selected(rt, run_id)
    priya = [r for r in chosen if not r.startswith("CLA")]
    # Two from Priya's team: one child-protection and one child-in-need case (the demo's own cases count too).
    assert len(priya) == 2 and {r.split("-")[0] for r in priya} <= {"CP", "CIN", "CS"}
    assert len({r.split("-")[0] for r in priya}) == 2
    assert len([r for r in chosen if r.startswith("CLA")]) == 2


def test_the_draw_is_reproducible_by_its_seed(rt, world):
    _add_cases(rt, [(f"CIN-{n}", "CIN", "priya") for n in range(12)], month="2027-02")
    with freeze_time(MONDAY_9), rt.database.unit_of_work() as db:
        runs = [allocation_run.draw(db, "2027-02", FW, seed=seed).id for seed in (11, 11, 12, 13, 14)]
    assert _selected(rt, runs[0]) == _selected(rt, runs[1])
    assert len({tuple(_selected(rt, r)) for r in runs}) > 1
    with rt.database.unit_of_work() as db:
        statuses = [db.get(AllocationRun, r).status for r in runs]
        assert statuses == ["superseded"] * 4 + ["draft"]
        drawn = db.scalars(select(Event).where(Event.kind == "allocation.drawn")).all()
        assert [e.detail["seed"] for e in drawn] == [11, 11, 12, 13, 14]


def test_recently_audited_cases_are_left_out_unless_a_reaudit_is_due(rt, world):
    _add_cases(rt, [("OLD-1", "CP", "priya"), ("DUE-1", "CIN", "priya")], month="2027-07")
    with rt.database.unit_of_work() as db:
        for case in db.scalars(select(Case)):
            if case.case_ref in ("OLD-1", "DUE-1"):
                db.add(
                    Audit(
                        qa_ref=f"QA-2027-02-{case.id:03d}",
                        case=case,
                        month="2027-02",
                        category=case.category,
                        status="accepted",
                        allocated_at=MONDAY_9,
                    )
                )
            if case.case_ref == "DUE-1":
                case.reaudit_due = "2027-07"
    with freeze_time(MONDAY_9), rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-07", Framework(team_quota=5), seed=1)
        assert run.parameters["left_out_recently_audited"] == 1
        run_id = run.id
    assert _selected(rt, run_id) == ["DUE-1"]


def test_auditors_are_independent_balanced_and_capped(rt, world):
    _second_team(rt)
    _add_cases(rt, [(f"CIN-{n}", "CIN", "priya") for n in range(6)] + [("GHOST-1", "CP", None)])
    with freeze_time(MONDAY_9), rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-01", Framework(team_quota=9, auditor_monthly_max=2), seed=3)
        result = allocation_run.plan(db, run, Framework(team_quota=9, auditor_monthly_max=2))
        names = [a.name for a in result.assignments.values()]
        # Nina works in Priya's team, so never audits there; Amira and Oliver take two each, then capacity ends.
        assert sorted(names) == ["Amira Auditor", "Amira Auditor", "Oliver Other", "Oliver Other"]
        reasons = sorted(result.held_back.values())
        assert reasons == ["no_auditor"] * 5 + ["no_worker"]


def _open_review(slack, standin, user="U0QA", text="allocate 2027-01"):
    response = slack.command(user, "/qa", text)
    assert response.status == 200
    return standin.last("views.open")


@freeze_time(MONDAY_9, tick=True)
def test_only_the_qa_team_may_allocate(rt, standin, slack, world):
    assert _open_review(slack, standin, user="U0PRAC") is None
    [answer] = standin.responses
    assert answer.body["response_type"] == "ephemeral" and "Only the QA team" in answer.body["text"]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(AllocationRun)) == 0
        assert db.scalar(select(Event.actor_slack_id).where(Event.kind == "refused.allocate")) == "U0PRAC"


@freeze_time(MONDAY_9, tick=True)
def test_review_then_allocate_from_slack(rt, standin, slack, world):
    _add_cases(rt, [("EXTRA-1", "CIN", "priya")])
    opened = _open_review(slack, standin)
    assert opened.ok
    view = opened.response["view"]
    assert view["callback_id"] == "allocation_review" and "CS-100234" in str(view["blocks"])
    keep_blocks = [b for b in view["blocks"] if b.get("block_id", "").startswith("keep_")]
    drawn = [o["value"] for b in keep_blocks for o in b["element"]["options"]]
    assert len(drawn) == 2  # the team quota
    kept = drawn[:1]
    bad = slack.view_submission("U0QA", view, {keep_blocks[0]["block_id"]: {"keep": kept}, "add": {"refs": "NOPE-9"}})
    assert bad.json() == {
        "response_action": "errors",
        "errors": {"add": "These case IDs are not on this month's list: NOPE-9."},
    }
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Audit)) == 0
    with rt.database.unit_of_work() as db:
        extra = db.scalar(select(Case).where(Case.case_ref == "EXTRA-1"))
        already = extra.id in [int(v) for v in drawn]
    add = "CS-100512" if already else "EXTRA-1"
    done = slack.view_submission("U0QA", view, {keep_blocks[0]["block_id"]: {"keep": kept}, "add": {"refs": add}})
    assert done.status == 200 and done.body == ""
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        audits = db.scalars(select(Audit).order_by(Audit.id)).all()
        assert len(audits) == 2
        assert {a.case_id for a in audits} >= {int(kept[0])}
        assert all(a.auditor.name in ("Amira Auditor", "Oliver Other") for a in audits)
        confirmed = db.scalars(select(Event).where(Event.kind == "allocation.confirmed")).one()
        assert confirmed.actor_slack_id == "U0QA" and confirmed.detail["allocated"] == 2
    [summary] = standin.posted("C0QATEAM")
    assert "January 2027 is allocated: 2 audits across 1 team." == summary.args["text"]
    assert "CS-" not in str(summary.args) and "Priya" not in str(summary.args)
    # Priya hears once, about both audits of her cases.
    [told] = standin.posted("U0PRAC")
    assert told.args["text"].startswith("2 of your cases will be audited in January 2027")
    assert len(standin.posted("U0AUD")) + len(standin.posted("U0AUD2")) == 2
    # The month is done: asking again says so.
    _open_review(slack, standin)
    assert "was allocated by Quinn QA" in standin.responses[-1].body["text"]


@freeze_time(MONDAY_9, tick=True)
def test_a_month_with_no_case_list_says_so(rt, standin, slack, world):
    assert _open_review(slack, standin, text="allocate 2027-03") is None
    assert "no case list for March 2027" in standin.responses[-1].body["text"]
    slack.command("U0QA", "/qa", "allocate March")
    assert "YYYY-MM" in standin.responses[-1].body["text"]


def test_the_qa_team_is_prompted_on_the_first_working_day(rt, standin, world):
    # 1 January 2027 is a bank holiday and 2-3 January a weekend: the first working day is Monday 4th.
    assert tick(rt, datetime(2027, 1, 1, 9, 0, tzinfo=LONDON))["month-start"] == 0
    assert tick(rt, datetime(2027, 1, 4, 8, 59, tzinfo=LONDON))["month-start"] == 0
    assert tick(rt, datetime(2027, 1, 4, 9, 0, tzinfo=LONDON))["month-start"] == 1
    assert tick(rt, datetime(2027, 1, 4, 9, 5, tzinfo=LONDON))["month-start"] == 0
    [prompt] = standin.posted("C0QATEAM")
    assert "first working day of January 2027" in prompt.args["text"] and "3 cases" in prompt.args["text"]


def test_no_prompt_once_the_month_is_allocated(rt, standin, world):
    with freeze_time(datetime(2027, 1, 29, 9, 0, tzinfo=LONDON)), rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-02", FW, seed=1)
        allocation_run.confirm(db, rt.calendar, rt.settings, run, None)
    assert tick(rt, datetime(2027, 2, 1, 9, 0, tzinfo=LONDON))["month-start"] == 0


def test_qabot_allocate_shows_the_draft_then_confirms(rt, standin, world, cli_env, capsys):
    with freeze_time(MONDAY_9):
        assert cli.main(["allocate", "--month", "2027-01", "--seed", "5"]) == 0
        out = capsys.readouterr().out
        assert "January 2027: 2 case(s) drawn from 3 on the list (seed 5)" in out
        assert "This is a draft" in out
        with rt.database.unit_of_work() as db:
            assert db.scalar(select(func.count()).select_from(Audit)) == 0
        assert cli.main(["allocate", "--month", "2027-01", "--add", "NOPE"]) == 2
        assert cli.main(["allocate", "--month", "2027-01", "--confirm"]) == 0
        out = capsys.readouterr().out
        assert "Allocated 2 audits; 0 held back." in out
        assert "QA-2027-01-001  case CS-100" in out
    with rt.database.unit_of_work() as db:
        event = db.scalars(select(Event).where(Event.kind == "allocation.confirmed")).one()
        assert event.detail["via"].startswith("command line") and event.detail["seed"] == 5
    assert cli.main(["allocate", "--month", "2027-01"]) == 0
    assert "already allocated" in capsys.readouterr().out
    assert cli.main(["allocate", "--month", "January"]) == 2


def test_held_back_cases_are_allocated_once_resolved(rt, standin, world, cli_env, capsys):
    _add_cases(rt, [("GHOST-1", "CP", None)])
    with freeze_time(MONDAY_9):
        assert cli.main(["allocate", "--month", "2027-01", "--seed", "5", "--add", "GHOST-1", "--confirm"]) == 0
        assert "held back" in capsys.readouterr().out
        assert cli.main(["allocate", "--month", "2027-01"]) == 0
        out = capsys.readouterr().out
        assert "GHOST-1" in out  # still held back: no worker yet
        # The follow-up draft says what is allocated and what remains, not a fresh draw's figures.
        assert out.startswith("January 2027 is allocated (2 audit(s)); 1 case(s) still need an auditor")
        assert "drawn from" not in out and "left out" not in out
        # The worker joins the directory and the month's list is imported again: now it names her.
        _reimport_with_priya(rt, "GHOST-1", "CP")
        assert cli.main(["allocate", "--month", "2027-01", "--confirm"]) == 0
        out = capsys.readouterr().out
        assert "Allocated 1 audit; 0 held back." in out and "case GHOST-1" in out
        assert cli.main(["allocate", "--month", "2027-01"]) == 0
        assert "nothing is held back" in capsys.readouterr().out
    with rt.database.unit_of_work() as db:
        ghost = db.scalar(select(Case).where(Case.case_ref == "GHOST-1"))
        assert db.scalar(select(func.count()).select_from(Audit).where(Audit.case_id == ghost.id)) == 1


def _reimport_with_priya(rt, ref, category, month="2027-01"):
    record = CaseRecord(ref, category, LIST_OF[category], "Family Support North", "Priya Practitioner", {})
    with rt.database.unit_of_work() as db:
        assert caselist.import_cases(db, CaseList({ref: record}, {LIST_OF[category]: 1}), month).updated == 1


@freeze_time(MONDAY_9, tick=True)
def test_slack_offers_what_is_still_held_back(rt, standin, slack, world):
    _add_cases(rt, [("GHOST-2", "CIN", None)])
    with rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-01", FW, seed=1)
        run.selected = [*run.selected, db.scalar(select(Case.id).where(Case.case_ref == "GHOST-2"))]
        allocation_run.confirm(db, rt.calendar, rt.settings, run, None)
        ghost = db.scalar(select(Case).where(Case.case_ref == "GHOST-2"))
    _reimport_with_priya(rt, "GHOST-2", "CIN")
    view = _open_review(slack, standin).response["view"]
    # What is true after confirming: what is already allocated, and what still needs an auditor.
    assert "is allocated (2 audits); 1 case still needs an auditor" in str(view["blocks"][0])
    assert "GHOST-2" in str(view["blocks"])
    keep = {
        b["block_id"]: {"keep": [o["value"] for o in b["element"]["options"]]}
        for b in view["blocks"]
        if b.get("block_id", "").startswith("keep_")
    }
    assert slack.view_submission("U0QA", view, keep).body == ""
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Audit).where(Audit.case_id == ghost.id)) == 1
    _open_review(slack, standin)
    assert "was allocated by" in standin.responses[-1].body["text"]


def test_a_late_month_start_prompt_says_the_month_is_not_allocated(rt, standin, world):
    # The clock was down on Monday 2 November 2026: it catches up on Friday the 27th, and says what is true.
    assert tick(rt, datetime(2026, 11, 27, 9, 0, tzinfo=LONDON))["month-start"] == 1
    assert tick(rt, datetime(2026, 11, 30, 9, 0, tzinfo=LONDON))["month-start"] == 0
    [prompt] = standin.posted("C0QATEAM")
    text = prompt.args["text"]
    assert text.startswith("November 2026 has not been allocated yet. Please import this month's Annex A case list")
    assert "first working day" not in text


def _cara_team_list(rt, ready: int, unready: int):
    """Children We Care For's list: `ready` cases with Cara as their worker, `unready` whose worker the staff
    directory does not have."""
    records = {f"R-{n}": CaseRecord(f"R-{n}", "CLA", 8, "Children We Care For", "Cara Carer", {}) for n in range(ready)}
    records |= {
        f"U-{n}": CaseRecord(f"U-{n}", "CP", 7, "Children We Care For", "Nobody Known", {}) for n in range(unready)
    }
    with rt.database.unit_of_work() as db:
        caselist.import_cases(db, CaseList(records, {7: unready, 8: ready}), "2027-01")


def test_the_draw_takes_cases_it_can_allocate_before_held_back_ones(rt, world):
    _second_team(rt)
    _cara_team_list(rt, ready=2, unready=3)
    with freeze_time(MONDAY_9), rt.database.unit_of_work() as db:
        for seed in range(20):
            run = allocation_run.draw(db, "2027-01", FW, seed=seed)
            cara = [r for r in _selected_in(db, run) if not r.startswith("CS-")]
            # Child protection is the more serious category, but its worker is unknown: the free cases go first.
            assert cara == ["R-0", "R-1"] and run.parameters["held_back_drawn"] == 0


def test_a_held_back_case_is_drawn_only_when_nothing_else_is_left_and_the_review_says_so(
    rt, standin, slack, world, cli_env, capsys
):
    _second_team(rt)
    _cara_team_list(rt, ready=1, unready=3)
    with freeze_time(MONDAY_9):
        assert cli.main(["allocate", "--month", "2027-01", "--seed", "4"]) == 0
        out = capsys.readouterr().out
    assert "1 of them cannot be allocated until the staff directory has their worker (held back)" in out
    assert "R-0" in out and "HELD BACK: the worker is not in the staff directory" in out
    with freeze_time(MONDAY_9, tick=True):
        view = _open_review(slack, standin).response["view"]
    assert "1 of them cannot be allocated" in str(view["blocks"][0])
    inputs = {b["block_id"]: b for b in view["blocks"] if b.get("block_id", "").startswith("keep_")}
    to_allocate = [
        o["text"]["text"] for b in inputs.values() if "held" not in b["block_id"] for o in b["element"]["options"]
    ]
    [held] = [b for block_id, b in inputs.items() if block_id.startswith("keep_held_")]
    assert held["label"]["text"] == "Held back: not allocated now"
    [held_case] = [o["text"]["text"] for o in held["element"]["options"]]
    assert held_case.startswith("*U-") and not any(t.startswith("*U-") for t in to_allocate)
    # Submitted as it opened: the allocatable cases are allocated, and the held-back one is offered again later.
    keep = {block_id: {"keep": [o["value"] for o in b["element"]["initial_options"]]} for block_id, b in inputs.items()}
    with freeze_time(MONDAY_9, tick=True):
        assert slack.view_submission("U0QA", view, keep).body == ""
    with rt.database.unit_of_work() as db:
        held_id = int(held["element"]["options"][0]["value"])
        assert allocation_run.held_back(db, "2027-01") == [held_id]
        assert db.scalar(select(func.count()).select_from(Audit).where(Audit.case_id == held_id)) == 0


def _selected_in(db, run) -> list[str]:
    return sorted(db.scalars(select(Case.case_ref).where(Case.id.in_(run.selected))))


def _open_audits(rt, ref, month="2027-01") -> list[str]:
    with rt.database.unit_of_work() as db:
        return list(
            db.scalars(
                select(Audit.qa_ref)
                .join(Audit.case)
                .where(Case.case_ref == ref, Audit.month == month, Audit.status.not_in(("declined", "cancelled")))
            )
        )


def test_a_case_allocated_this_month_is_not_added_again(rt, standin, world, cli_env, capsys):
    _add_cases(rt, [("THEME-1", "CIN", "priya")])
    with freeze_time(MONDAY_9):
        assert cli.main(["allocate", "--month", "2027-01", "--seed", "5", "--confirm"]) == 0
        capsys.readouterr()
        with rt.database.unit_of_work() as db:
            first = db.scalars(select(Audit).order_by(Audit.id)).first()
            ref, qa_ref = first.case.case_ref, first.qa_ref
            # A thematic audit of a case this month is another audit: it does not keep the case out.
            theme = db.scalar(select(Case).where(Case.case_ref == "THEME-1"))
            db.add(
                Audit(
                    qa_ref="QA-T-001",
                    case=theme,
                    month="2027-01",
                    kind="thematic",
                    category="CIN",
                    allocated_at=MONDAY_9,
                )
            )
        assert cli.main(["allocate", "--month", "2027-01", "--add", ref]) == 0
        out = capsys.readouterr().out
        assert f"{ref} is already allocated this month as {qa_ref}" in out
        assert "Nothing more to allocate." in out and "QA-2027-01-002" in out
        assert cli.main(["allocate", "--month", "2027-01", "--add", ref, "THEME-1", "--confirm"]) == 0
        out = capsys.readouterr().out
        assert f"{ref} is already allocated this month as {qa_ref}" in out
        assert "Allocated 1 audit; 0 held back." in out and "case THEME-1" in out
    assert _open_audits(rt, ref) == [qa_ref]
    assert len(_open_audits(rt, "THEME-1")) == 2


def test_confirming_a_draft_never_allocates_a_case_twice_in_a_month(rt, standin, world):
    with freeze_time(MONDAY_9), rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-01", FW, seed=5)
        allocation_run.confirm(db, rt.calendar, rt.settings, run, None)
        [audit, *_] = db.scalars(select(Audit).order_by(Audit.id))
        # A draft that names a case allocated since it was drawn (the clock's re-audit, another draft).
        again = allocation_run.top_up(db, "2027-01", [audit.case_id])
        result = allocation_run.confirm(db, rt.calendar, rt.settings, again, None)
        assert result.audits == [] and result.already == {audit.case_id: audit.qa_ref}
        assert db.scalar(select(func.count()).select_from(Audit).where(Audit.case_id == audit.case_id)) == 1


@freeze_time(MONDAY_9, tick=True)
def test_the_review_form_refuses_a_case_already_allocated(rt, standin, slack, world):
    _add_cases(rt, [("GHOST-3", "CIN", None)])
    with rt.database.unit_of_work() as db:
        run = allocation_run.draw(db, "2027-01", FW, seed=1)
        run.selected = [*run.selected, db.scalar(select(Case.id).where(Case.case_ref == "GHOST-3"))]
        allocation_run.confirm(db, rt.calendar, rt.settings, run, None)
        audit = db.scalars(select(Audit).order_by(Audit.id)).first()
        ref, qa_ref = audit.case.case_ref, audit.qa_ref
    view = _open_review(slack, standin).response["view"]
    answer = slack.view_submission("U0QA", view, {"add": {"refs": ref}})
    assert answer.json() == {
        "response_action": "errors",
        "errors": {"add": f"{ref} is already allocated this month as {qa_ref}."},
    }
    assert _open_audits(rt, ref) == [qa_ref]


def test_a_look_after_confirming_leaves_the_month_allocated(rt, standin, slack, world, cli_env, capsys):
    _add_cases(rt, [("GHOST-4", "CP", None)])
    with freeze_time(MONDAY_9 - timedelta(days=3)):
        assert cli.main(["allocate", "--month", "2027-01", "--seed", "5", "--add", "GHOST-4", "--confirm"]) == 0
        capsys.readouterr()
        # Just looking: what is allocated, and what is still held back; no new sample is drawn.
        assert cli.main(["allocate", "--month", "2027-01"]) == 0
        out = capsys.readouterr().out
        assert "Allocated this month:" in out and "QA-2027-01-001" in out and "GHOST-4" in out
        _reimport_with_priya(rt, "GHOST-4", "CP")
    with freeze_time(MONDAY_9 - timedelta(days=3), tick=True):
        view = _open_review(slack, standin).response["view"]
    assert "still needs an auditor" in str(view["blocks"][0]) and "GHOST-4" in str(view["blocks"])
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Event).where(Event.kind == "allocation.drawn")) == 1
        assert allocation_run.latest(db, "2027-01").status == "draft"
    # A month with a confirmed allocation is allocated, whatever drafts came after: no prompt, not even late.
    assert tick(rt, MONDAY_9)["month-start"] == 0
    assert tick(rt, datetime(2027, 1, 29, 9, 0, tzinfo=LONDON))["month-start"] == 0
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(OutboxMessage).where(OutboxMessage.key == "month-start:2027-01")) is None
