"""Learning, through /slack/events: the QA team's learning highlights (`/qa highlight` or the shortcut) posted to the
learning channel with their author, and the monthly top ten drafted by the clock from the previous month's
highlights and good-practice nominations, anonymised, edited and approved once by the QA Head of Service."""

from dataclasses import replace
from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.workflow import good_practice
from bot.workflow.directory import add_person
from scheduler.jobs import tick
from store.models import Audit, Highlight, Nomination, Person, TopTen
from tests.test_moderation import LONDON, _events

LEARNING = "C0LEARN"
QA = "C0QATEAM"
THEME = "The child's voice in plans"
LEARNED = "Plans written with the child, in their own words, were followed through & reviewed."
LESSON = "The worker kept the child's wishes at the centre of every review, and the school noticed."
APRIL_20 = datetime(2027, 4, 20, 11, 0, tzinfo=LONDON)


@pytest.fixture
def settings(settings, standin):
    standin.add_channel(LEARNING, "learning")
    standin.invite_bot(LEARNING)  # as the README's "/invite @qabot" step does
    return replace(settings, learning_channel=LEARNING)


@pytest.fixture
def head(rt, world):
    with rt.database.unit_of_work() as db:
        add_person(
            db,
            name="Hana Head",
            email="hana@council.example",
            slack_user_id="U0HEAD",
            roles=["qa_head_of_service"],
            team="Quality Assurance",
        )


def _opened(standin, before):
    opened = [c for c in standin.calls if c.method == "views.open"]
    return opened[-1].response["view"] if len(opened) > before else None


def _views(standin):
    return len([c for c in standin.calls if c.method == "views.open"])


def _highlight_form(slack, standin, user="U0QA"):
    before = _views(standin)
    slack.command(user, "/qa", "highlight")
    return _opened(standin, before)


def _post(rt, slack, standin, theme=THEME, learned=LEARNED, link=None, user="U0QA"):
    view = _highlight_form(slack, standin, user)
    values = {"theme": {"answer": theme}, "learned": {"answer": learned}}
    if link is not None:
        values["link"] = {"answer": link}
    response = slack.view_submission(user, view, values)
    rt.dispatcher.drain()
    return response


def _highlights(rt):
    with rt.database.unit_of_work() as db:
        return db.scalars(select(Highlight)).all()


def _top_tens(rt):
    with rt.database.unit_of_work() as db:
        return db.scalars(select(TopTen)).all()


def _buttons(call):
    return [(e["action_id"], e["value"]) for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]


# ----- learning highlights ---------------------------------------------------------------------------------------


@freeze_time(APRIL_20, tick=True)
def test_the_qa_team_posts_a_highlight_to_the_learning_channel_with_its_author(rt, standin, slack, world):
    view = _highlight_form(slack, standin)
    assert view["callback_id"] == "highlight_form"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["theme", "learned", "link"]
    typed = LEARNED + " <!channel>"
    response = slack.view_submission(
        "U0QA",
        view,
        {
            "theme": {"answer": THEME},
            "learned": {"answer": typed},
            "link": {"answer": "https://intranet.example/voice"},
        },
    )
    assert response.body == ""
    rt.dispatcher.drain()
    [highlight] = _highlights(rt)
    assert (highlight.theme, highlight.learned, highlight.link) == (THEME, typed, "https://intranet.example/voice")
    with rt.database.unit_of_work() as db:
        assert db.get(Person, highlight.author_id).slack_user_id == "U0QA"
    [event] = _events(rt, "highlight.posted")
    assert (event.actor_slack_id, event.subject_type, event.subject_id) == ("U0QA", "highlights", highlight.id)
    [post] = standin.posted(LEARNING)
    assert post.args["text"] == f"Learning highlight: {THEME} (shared by Quinn QA)"
    shown = str(post.args["blocks"])
    assert "Shared by Quinn QA" in shown and "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "<https://intranet.example/voice|https://intranet.example/voice>" in shown
    assert "followed through &amp; reviewed" in shown
    assert "CS-100234" not in str(post.args) and not standin.posted(QA)


@freeze_time(APRIL_20, tick=True)
def test_the_shortcut_opens_the_same_form(rt, standin, slack, world):
    before = _views(standin)
    assert slack.shortcut("U0QA", "qa_highlight").status == 200
    assert _opened(standin, before)["callback_id"] == "highlight_form"


@freeze_time(APRIL_20, tick=True)
def test_a_practitioner_is_refused_and_it_is_recorded(rt, standin, slack, world):
    assert _highlight_form(slack, standin, "U0PRAC") is None
    words = "Only the QA team posts learning highlights and drafts the top ten of learning."
    assert standin.responses[-1].body["text"].startswith(words)
    assert standin.responses[-1].body["response_type"] == "ephemeral"
    # The shortcut has no response_url: the refusal is ephemeral in the person's DM with the bot.
    before = _views(standin)
    slack.shortcut("U0PRAC", "qa_highlight")
    assert _opened(standin, before) is None
    [ephemeral] = [c for c in standin.calls if c.method == "chat.postEphemeral"]
    assert ephemeral.args["user"] == "U0PRAC" and ephemeral.args["text"].startswith(words)
    refusals = _events(rt, "refused.highlight_open")
    assert [e.actor_slack_id for e in refusals] == ["U0PRAC", "U0PRAC"]
    assert {e.detail["reason"] for e in refusals} == {"not the QA team"}
    # A forged submission from a practitioner is refused too, and nothing is posted.
    view = _highlight_form(slack, standin)
    response = slack.view_submission("U0PRAC", view, {"theme": {"answer": THEME}, "learned": {"answer": LEARNED}})
    assert response.json()["errors"]["theme"].startswith(words)
    rt.dispatcher.drain()
    assert _highlights(rt) == [] and not standin.posted(LEARNING)
    assert len(_events(rt, "refused.highlight_post")) == 1


@freeze_time(APRIL_20, tick=True)
def test_personal_details_are_a_field_error_and_nothing_is_stored_or_posted(rt, standin, slack, world):
    response = _post(
        rt, slack, standin, theme="Visits to CS-100234", learned="Saw the child at SW1A 1AA; mum is on 07700 900123."
    )
    errors = response.json()["errors"]
    assert errors["theme"].startswith("Please remove the case ID (CS-100234)")
    assert "the postcode (SW1A 1AA)" in errors["learned"] and "the phone number (07700 900123)" in errors["learned"]
    assert _highlights(rt) == [] and not _events(rt, "highlight.posted") and not standin.posted(LEARNING)


@freeze_time(APRIL_20, tick=True)
@pytest.mark.parametrize(
    "link", ["intranet.example/voice", "javascript:alert(1)", "ftp://files.example/guide.pdf", "https://"]
)
def test_a_link_that_is_not_a_web_address_is_a_field_error(rt, standin, slack, world, link):
    errors = _post(rt, slack, standin, link=link).json()["errors"]
    assert errors == {"link": "Please give a web address starting with http:// or https://, or leave the link empty."}
    assert _highlights(rt) == [] and not standin.posted(LEARNING)


@freeze_time(APRIL_20, tick=True)
def test_a_link_to_a_case_record_is_refused_and_blank_fields_are_field_errors(rt, standin, slack, world):
    errors = _post(rt, slack, standin, link="https://casesystem.example/person/CS-100234").json()["errors"]
    assert list(errors) == ["link"] and errors["link"].startswith("Please remove the case ID (CS-100234)")
    errors = _post(rt, slack, standin, theme="  ", learned="\n").json()["errors"]
    assert errors == {"theme": "Please give the theme in a few words.", "learned": "Please say what we learned."}
    assert _highlights(rt) == [] and not standin.posted(LEARNING)


@freeze_time(APRIL_20, tick=True)
def test_without_a_learning_channel_the_qa_channel_hears_it_and_without_either_the_form_says_so(
    rt, standin, slack, world
):
    rt.settings = replace(rt.settings, learning_channel=None)
    assert _post(rt, slack, standin).body == ""
    assert [c.args["text"] for c in standin.posted(QA)] == [f"Learning highlight: {THEME} (shared by Quinn QA)"]
    rt.settings = replace(rt.settings, qa_channel=None)
    errors = _post(rt, slack, standin, theme="Another").json()["errors"]
    assert errors["theme"].startswith("qabot has no channel to post learning to")
    assert [h.theme for h in _highlights(rt)] == [THEME]


# ----- the month's top ten ---------------------------------------------------------------------------------------


def _nominate(rt, audit_id, grade="outstanding", reason=LESSON):
    """The audit, moderated, is nominated as good practice by its auditor (as the nomination form does)."""
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        nomination = good_practice.nominate(db, rt.settings, audit, audit.auditor, "auditor", grade, reason)
        return nomination.id


def _april(rt, slack, standin, audit_id):
    """April 2027: two highlights and a nominated Outstanding audit; a highlight of March and one of May."""
    with freeze_time(datetime(2027, 3, 31, 16, 0, tzinfo=LONDON), tick=True):
        _post(rt, slack, standin, theme="March's lesson")
    with freeze_time(APRIL_20, tick=True):
        _post(rt, slack, standin)
        _post(rt, slack, standin, theme="Supervision", learned="Group supervision helped the team reflect.")
        nomination_id = _nominate(rt, audit_id)
    return nomination_id


def _names_and_references(rt, audit_id):
    """What must never appear in the top ten: the audit's references and everyone on it, and the authors."""
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        people = [audit.auditor, audit.practitioner, audit.team_manager]
        found = [audit.qa_ref, audit.case.case_ref, *(p.name for p in people if p)]
        return found + [name.split()[0] for name in found[2:]] + ["Quinn"]


def _draft_dm(standin, user="U0HEAD"):
    [dm] = [c for c in standin.posted(user) if "top ten of learning" in c.args["text"]]
    return dm


def test_the_clock_drafts_the_top_ten_on_the_first_working_day_anonymised(rt, standin, slack, audit_id, head):
    nomination_id = _april(rt, slack, standin, audit_id)
    # 1 May 2027 is a Saturday and Monday 3 May a bank holiday: the first working day is Tuesday 4 May.
    for moment in (datetime(2027, 5, 3, 10, 0, tzinfo=LONDON), datetime(2027, 5, 4, 8, 59, tzinfo=LONDON)):
        assert tick(rt, moment)["top-ten"] == 0
    assert _top_tens(rt) == [] and not standin.posted("U0HEAD")
    assert tick(rt, datetime(2027, 5, 4, 9, 0, tzinfo=LONDON))["top-ten"] == 1
    assert tick(rt, datetime(2027, 5, 4, 9, 5, tzinfo=LONDON))["top-ten"] == 0  # once

    [topten] = _top_tens(rt)
    assert (topten.month, topten.status) == ("2027-04", "draft")
    # Good practice and highlights in turn; March's highlight is not April's.
    assert [(i["source"], i["title"]) for i in topten.items] == [
        ("nomination", None),
        ("highlight", THEME),
        ("highlight", "Supervision"),
    ]
    [event] = _events(rt, "topten.drafted")
    assert event.actor_id is None and event.detail["nominations"] == [nomination_id]

    dm = _draft_dm(standin)
    assert dm.args["text"].startswith("The top ten of learning for April 2027 is drafted")
    assert _buttons(dm) == [("topten_edit", str(topten.id)), ("topten_approve", str(topten.id))]
    shown = str(dm.args["blocks"])
    assert "1. *Good practice: an audit graded Outstanding" in shown and LESSON in shown
    assert f"2. *{THEME}*" in shown and "3. *Supervision*" in shown
    for secret in _names_and_references(rt, audit_id):
        assert secret not in str(dm.args), secret
    # Nobody else is messaged about it.
    assert len(standin.posted(LEARNING)) == 3 and not [c for c in standin.posted("U0QA") if "top ten" in c.args["text"]]


def test_edit_then_approve_once_posts_it_to_the_learning_channel(rt, standin, slack, audit_id, head):
    nomination_id = _april(rt, slack, standin, audit_id)
    tick(rt, datetime(2027, 5, 4, 9, 0, tzinfo=LONDON))
    [topten] = _top_tens(rt)
    dm = _draft_dm(standin)
    message = standin.message(dm.response["ts"])

    with freeze_time(datetime(2027, 5, 4, 10, 0, tzinfo=LONDON), tick=True):
        before = _views(standin)
        slack.block_action("U0HEAD", "topten_edit", str(topten.id), message=message)
        form = _opened(standin, before)
        assert form["callback_id"] == "topten_form" and form["private_metadata"] == str(topten.id)
        boxes = [b for b in form["blocks"] if b["type"] == "input"]
        assert [b["element"]["initial_value"] for b in boxes] == [
            LESSON,
            LEARNED,
            "Group supervision helped the team reflect.",
        ]

        # The PII guard applies: a field error, and the draft is unchanged.
        typed = {"item-0": {"answer": LESSON}, "item-1": {"answer": "Call the school on 01632 960 123."}}
        errors = slack.view_submission("U0HEAD", form, typed).json()["errors"]
        assert list(errors) == ["item-1"] and "the phone number (01632 960 123)" in errors["item-1"]
        # Every box emptied: at least one item is kept.
        emptied = {f"item-{n}": {"answer": ""} for n in range(3)}
        assert "at least one item" in slack.view_submission("U0HEAD", form, emptied).json()["errors"]["item-0"]
        assert _top_tens(rt)[0].items == topten.items

        # Opened by a second editor before the first saves: its boxes no longer match once an item is dropped.
        before = _views(standin)
        slack.block_action("U0QA", "topten_edit", str(topten.id), message=message)
        stale = _opened(standin, before)
        # Reworded, and the second highlight dropped by emptying its box.
        edited = {
            "item-0": {"answer": LESSON},
            "item-1": {"answer": "Plans in the child's words work."},
            "item-2": {"answer": " "},
        }
        assert slack.view_submission("U0HEAD", form, edited).body == ""
        rt.dispatcher.drain()
        items = _top_tens(rt)[0].items
        assert [i["text"] for i in items] == [LESSON, "Plans in the child's words work."]
        assert len(_events(rt, "topten.edited")) == 1
        stale_errors = slack.view_submission("U0QA", stale, {"item-0": {"answer": "Overwritten."}}).json()["errors"]
        assert stale_errors == {
            "item-0": "Someone changed this draft while you had it open, so nothing was saved. "
            "Please close this form and press Edit again."
        }
        assert [i["text"] for i in _top_tens(rt)[0].items] == [LESSON, "Plans in the child's words work."]
        updated = [c for c in standin.calls if c.method == "chat.update" and c.args["ts"] == dm.response["ts"]]
        assert "Plans in the child's words work." in str(updated[-1].args["blocks"]) and "Supervision" not in str(
            updated[-1].args["blocks"]
        )

        # Approve and post, clicked twice: posted once, and the second click is told who approved it.
        slack.block_action("U0HEAD", "topten_approve", str(topten.id), message=standin.message(dm.response["ts"]))
        slack.block_action("U0HEAD", "topten_approve", str(topten.id), message=standin.message(dm.response["ts"]))
        assert "was already approved by Hana Head" in standin.responses[-1].body["text"]
        rt.dispatcher.drain()

    posts = [c for c in standin.posted(LEARNING) if "Top ten" in c.args["text"]]
    assert len(posts) == 1 and posts[0].args["text"] == "Top ten of learning for April 2027"
    shown = str(posts[0].args["blocks"])
    assert LESSON in shown and "Plans in the child's words work." in shown and "Group supervision" not in shown
    for secret in _names_and_references(rt, audit_id):
        assert secret not in str(posts[0].args), secret
    [approved] = _top_tens(rt)
    assert approved.status == "posted" and approved.approved_at is not None
    with rt.database.unit_of_work() as db:
        assert db.get(Person, approved.approved_by_id).name == "Hana Head"
        assert db.get(Nomination, nomination_id).status == "used"
    assert len(_events(rt, "topten.approved")) == 1 and len(_events(rt, "topten.posted")) == 1
    # The DM is updated in place: who approved it, and the buttons gone.
    final = standin.message(dm.response["ts"])
    assert "approved by Hana Head" in final["text"] and not [b for b in final["blocks"] if b["type"] == "actions"]
    # Editing after the approval changes nothing.
    with freeze_time(datetime(2027, 5, 4, 10, 5, tzinfo=LONDON), tick=True):
        slack.block_action("U0HEAD", "topten_edit", str(topten.id))
        assert "already approved by Hana Head" in standin.responses[-1].body["text"]


def test_only_the_qa_head_approves_and_the_qa_team_only_edits(rt, standin, slack, audit_id, head):
    _april(rt, slack, standin, audit_id)
    tick(rt, datetime(2027, 5, 4, 9, 0, tzinfo=LONDON))
    [topten] = _top_tens(rt)
    with freeze_time(datetime(2027, 5, 4, 10, 0, tzinfo=LONDON), tick=True):
        for user in ("U0QA", "U0PRAC"):
            slack.block_action(user, "topten_approve", str(topten.id))
            assert "is approved by the QA Head of Service" in standin.responses[-1].body["text"]
        before = _views(standin)
        slack.block_action("U0PRAC", "topten_edit", str(topten.id))
        assert _opened(standin, before) is None
        assert standin.responses[-1].body["text"].startswith("Only the QA team")
    assert [e.actor_slack_id for e in _events(rt, "refused.topten_approve")] == ["U0QA", "U0PRAC"]
    assert [e.actor_slack_id for e in _events(rt, "refused.topten_edit")] == ["U0PRAC"]
    assert _top_tens(rt)[0].status == "draft"


def test_nothing_is_drafted_and_nobody_messaged_when_the_month_had_nothing(rt, standin, slack, world, head):
    with freeze_time(datetime(2027, 3, 31, 16, 0, tzinfo=LONDON), tick=True):
        _post(rt, slack, standin, theme="March's lesson")
    results = tick(rt, datetime(2027, 5, 4, 9, 0, tzinfo=LONDON))
    assert results["top-ten"] == 0 and _top_tens(rt) == [] and not _events(rt, "topten.drafted")
    assert not standin.posted("U0HEAD") and not standin.posted("U0QA")
    with freeze_time(datetime(2027, 5, 4, 10, 0, tzinfo=LONDON), tick=True):
        slack.command("U0QA", "/qa", "topten 2027-04")
    assert (
        standin.responses[-1].body["text"].startswith("There is nothing to draft a top ten of learning from for April")
    )


def test_the_qa_team_drafts_on_demand_and_asking_again_reopens_it(rt, standin, slack, audit_id):
    """With no QA Head of Service, the QA team approves: the draft goes to them."""
    _april(rt, slack, standin, audit_id)
    with freeze_time(datetime(2027, 5, 4, 8, 30, tzinfo=LONDON), tick=True):
        before = _views(standin)
        slack.command("U0QA", "/qa", "topten 2027-04")
        first = _opened(standin, before)
        slack.command("U0QA", "/qa", "topten 2027-04")
        again = _opened(standin, before + 1)
        assert first["callback_id"] == again["callback_id"] == "topten_form"
        assert first["private_metadata"] == again["private_metadata"] == str(_top_tens(rt)[0].id)
        [event] = _events(rt, "topten.drafted")
        assert event.actor_slack_id == "U0QA"
        slack.command("U0PRAC", "/qa", "topten 2027-04")
        assert standin.responses[-1].body["text"].startswith("Only the QA team")
        slack.command("U0QA", "/qa", "topten April")
        assert (
            standin.responses[-1].body["text"] == "Please give the month as YYYY-MM, for example `/qa topten 2027-01`."
        )
    assert len(_events(rt, "refused.topten_draft")) == 1
    # The clock finds it drafted already; the draft went to the QA team once, in working hours.
    assert tick(rt, datetime(2027, 5, 4, 9, 0, tzinfo=LONDON))["top-ten"] == 0
    dm = _draft_dm(standin, "U0QA")
    with freeze_time(datetime(2027, 5, 4, 10, 0, tzinfo=LONDON), tick=True):
        slack.block_action(
            "U0QA", "topten_approve", str(_top_tens(rt)[0].id), message=standin.message(dm.response["ts"])
        )
        rt.dispatcher.drain()
        assert len([c for c in standin.posted(LEARNING) if "Top ten" in c.args["text"]]) == 1
        slack.command("U0QA", "/qa", "topten 2027-04")
        assert "already approved by Quinn QA" in standin.responses[-1].body["text"]


def test_a_draft_holds_ten_and_leaves_out_what_the_guard_now_refuses(rt, standin, slack, audit_id, head):
    """A nomination's text passed the guard when it was written, but a newer case list may name someone in it."""
    with freeze_time(APRIL_20, tick=True):
        _nominate(rt, audit_id, reason="Jane Doe's wishes were central to every plan.")
        for n in range(11):
            _post(rt, slack, standin, theme=f"Lesson {n + 1}")
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).case.worker_name = "Jane Doe"  # the list now names her
    assert tick(rt, datetime(2027, 5, 4, 9, 0, tzinfo=LONDON))["top-ten"] == 1
    [topten] = _top_tens(rt)
    assert [i["title"] for i in topten.items] == [f"Lesson {n + 1}" for n in range(10)]
