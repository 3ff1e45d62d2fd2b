import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError, meta, nodes

import messages
from messages import BlockKitError, render, render_view
from messages.render import env, grade, link, mrkdwn
from messages.validate import check_blocks, check_message, check_view
from tests.message_examples import ALLOCATION, EXAMPLES

FOLDER = Path(messages.__file__).parent
TEMPLATES = sorted(p.name.removesuffix(".json.j2") for p in (FOLDER / "templates").glob("*.json.j2"))
VIEWS = {
    "action_done_form",
    "action_extend_form",
    "action_reopen_form",
    "allocation_decline_form",
    "allocation_review",
    "audit_actions",
    "audit_form_step",
    "dispute_change_form",
    "dispute_form",
    "dispute_meeting_form",
    "family_feedback_form",
    "family_feedback_view",
    "good_practice_form",
    "group_moderation_form",
    "escalation_form",
    "highlight_form",
    "home",
    "inadequate_form",
    "meeting_form",
    "moderation_form",
    "self_assessment_form",
    "self_assessment_view",
    "topten_form",
    "thematic_define_form",
    "thematic_loop_form",
    "thematic_report_form",
}
CASES = [(name, ctx) for name, contexts in EXAMPLES.items() for ctx in contexts]
CASE_IDS = [f"{name}-{i}" for name, contexts in EXAMPLES.items() for i in range(len(contexts))]
ASKS = [case for case in CASES if case[0] == "allocation_request"]
HOSTILE = [
    '"',
    "\\",
    "\n",
    '"}]',
    '"}]}, {"type": "divider"}, {"x": "',
    "<!channel>",
    "<@U123>",
    "<https://evil|x>",
    "&",
]
FORBIDDEN = ("<!channel>", "<@U123", "<https://evil")
# codes that choose the wording (never shown themselves), configuration, and what a person typed shown back only
# inside their own input field (never parsed as mrkdwn)
ENUM_KEYS = {
    "question",
    "overall",
    "grade",
    "grades",
    "values",
    "role",
    "reason",
    "category",
    "task",
    "status",
    "attending",
    "at_time",
    "held_back",
    "kind",
    "how",
    "was",
    "scale",
    "mode",
    "new_grade",
    "withdrawn_grade",
    "policy",
    "came",
    "decision",
    "what_happened",
    "form",
    "tasks",
    "unasked",
    "attendees",
    "eligible",
    "period",
    "chair_user",
    "step",
    "state",
    "stage",
    "categories",
}


def rendered(name: str, ctx: dict, **kw: Any) -> dict:
    return (render_view if name in VIEWS else render)(name, ctx, **kw)


def text_of(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def poisoned(value: Any, bad: str) -> Any:
    if isinstance(value, str):
        return value + bad
    if isinstance(value, list):
        return [poisoned(v, bad) for v in value]
    if isinstance(value, dict):
        return {k: v if k in ENUM_KEYS else poisoned(v, bad) for k, v in value.items()}
    return value


def _assigned(ast: nodes.Template) -> set[str]:
    # set and for assign ("store"); a with block's names are its parameters ("param")
    return {name.name for name in ast.find_all(nodes.Name) if name.ctx in ("store", "param")}


def template_variables(filename: str) -> set[str]:
    ast = env.parse(env.loader.get_source(env, filename)[0])
    # meta reports a name `{% set %}` inside an if-branch as undeclared, so leave out whatever is assigned
    assigned = _assigned(ast)
    found = meta.find_undeclared_variables(ast) - assigned
    for included in meta.find_referenced_templates(ast):
        found |= template_variables(included) - assigned  # loop variables the partial reads
        # and what a partial sets, the including template may read
        found -= _assigned(env.parse(env.loader.get_source(env, included)[0]))
    return found


def section(text: str = "hi", **kw: Any) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **kw}


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def options(n: int) -> list[dict]:
    return [{"text": plain(f"Option {i}"), "value": str(i)} for i in range(n)]


def text_input(block_id: str = "note") -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain("Note"),
        "element": {"type": "plain_text_input", "action_id": "note"},
    }


def modal(*blocks: dict, **kw: Any) -> dict:
    return {"type": "modal", "title": plain("Audit"), "blocks": list(blocks), **kw}


# (a) every template has examples, and every example renders and validates


def test_every_template_has_examples() -> None:
    assert TEMPLATES == sorted(EXAMPLES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_examples_use_exactly_the_template_keys(name: str) -> None:
    used = set().union(*(ctx.keys() for ctx in EXAMPLES[name]))
    assert template_variables(f"{name}.json.j2") == used


@pytest.mark.parametrize(("name", "ctx"), CASES, ids=CASE_IDS)
def test_example_renders_and_validates(name: str, ctx: dict) -> None:
    payload = rendered(name, ctx)
    (check_view if name in VIEWS else check_message)(payload)


# (b) hostile strings in every string field cannot break the JSON, add blocks, mention or link


@pytest.mark.parametrize("bad", HOSTILE)
@pytest.mark.parametrize(("name", "ctx"), CASES, ids=CASE_IDS)
def test_hostile_strings_are_contained(name: str, ctx: dict, bad: str) -> None:
    payload = rendered(name, poisoned(ctx, bad))
    assert len(payload["blocks"]) == len(rendered(name, ctx)["blocks"])
    for forbidden in FORBIDDEN:
        assert forbidden not in text_of(payload)


def test_names_are_escaped_not_dropped() -> None:
    payload = rendered("allocation_accepted", EXAMPLES["allocation_accepted"][0] | {"by_name": "A <@U1> & B"})
    assert "A &lt;@U1&gt; &amp; B" in payload["text"]


# (c) the validator rejects what Slack rejects, and says which block and why


@pytest.mark.parametrize(
    ("check", "payload", "error"),
    [
        (check_message, {"text": "x", "blocks": [{"type": "divider"}] * 51}, "51 blocks, at most 50"),
        (check_view, modal(*[{"type": "divider"}] * 101), "101 blocks, at most 100"),
        (check_view, {"type": "home", "blocks": [{"type": "divider"}] * 101}, "101 blocks, at most 100"),
        (
            check_message,
            {"text": "x", "blocks": [section(block_id="a"), section(block_id="a")]},
            r"block 1 .*'a'.*duplicate block_id",
        ),
        (
            check_message,
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {"type": "button", "text": plain("A"), "action_id": "go"},
                            {"type": "button", "text": plain("B"), "action_id": "go"},
                        ],
                    }
                ],
            },
            "duplicate action_id 'go'",
        ),
        (
            check_view,
            modal(
                {
                    "type": "input",
                    "label": plain("Pick"),
                    "element": {"type": "checkboxes", "action_id": "c", "options": options(11)},
                },
                submit=plain("Save"),
            ),
            "checkboxes has 11 options, at most 10",
        ),
        (
            check_view,
            modal(
                {
                    "type": "input",
                    "label": plain("Pick"),
                    "element": {"type": "radio_buttons", "action_id": "r", "options": options(11)},
                },
                submit=plain("Save"),
            ),
            "radio_buttons has 11 options, at most 10",
        ),
        (check_message, {"text": "x", "blocks": [text_input()]}, "input blocks are only allowed in modals"),
        (check_view, {"type": "home", "blocks": [text_input()]}, "not in a home"),
        (check_view, modal(text_input()), "needs a `submit`"),
        (check_view, modal(section(), title=plain("x" * 25)), "`title` must be 1–24 characters, got 25"),
        (check_view, modal(section(), close=plain("x" * 25)), "`close` must be 1–24"),
        (
            check_view,
            modal(section(), submit={"type": "mrkdwn", "text": "OK"}),
            "`submit` must be a plain_text",
        ),
        (check_view, {"type": "workflow_step", "blocks": [section()]}, "type must be 'modal' or 'home'"),
        (
            check_message,
            {"text": "x", "blocks": [section(), {"type": "carousel_of_doom"}]},
            "block 1 .*unknown block type",
        ),
        (
            check_message,
            {"text": "x", "blocks": [{"type": "actions", "elements": [{"type": "buton"}]}]},
            r"block\.elements\[0\] .*not valid here",
        ),
        (check_message, {"text": "x", "blocks": [section(acessory={})]}, "block.acessory is not allowed"),
        (
            check_message,
            {"text": "x", "blocks": [section() | {"text": {"type": "markdown", "text": "x"}}]},
            r"block\.text\.type 'markdown' is not valid",
        ),
        (
            check_message,
            {
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [{"type": "button", "text": plain("x" * 76), "action_id": "go"}],
                    }
                ],
            },
            "cannot exceed 75 char",
        ),
        (check_message, {"text": "x", "blocks": [section("x" * 3001)]}, "cannot exceed 3000 characters"),
        (check_message, {"text": "x", "blocks": [{"type": "context"}]}, "missing .* 'elements'"),
        (check_message, {"text": "x" * 40_001, "blocks": [section()]}, "40001 characters, at most 40000"),
        (check_message, {"text": " ", "blocks": [section()]}, "needs non-empty plain `text`"),
        (check_message, {"text": "x", "blocks": []}, "non-empty list"),
        (check_message, {"text": "x", "blocks": ["divider"]}, "block 0: must be an object"),
    ],
)
def test_validator_rejects(check: Any, payload: dict, error: str) -> None:
    with pytest.raises(BlockKitError, match=error):
        check(payload)


def test_validator_accepts_a_good_modal() -> None:
    check_view(modal(section(block_id="intro"), text_input(), submit=plain("Save"), close=plain("Cancel")))


def test_check_blocks_knows_its_surfaces() -> None:
    with pytest.raises(ValueError, match="unknown surface"):
        check_blocks([section()], "channel")


def test_render_names_the_template_when_output_is_invalid() -> None:
    with pytest.raises(BlockKitError, match="template 'notice': message: needs non-empty"):
        render("notice", {"text": ""})


def test_missing_context_key_fails_loudly() -> None:
    with pytest.raises(UndefinedError, match="accept_by"):
        render("allocation_request", {"qa_ref": "QA-1", "audit_id": 1, "restricted": True, "reaudit_of": None})


def test_unknown_role_fails_loudly() -> None:
    with pytest.raises(UndefinedError):
        render("allocation_told", EXAMPLES["allocation_told"][0] | {"role": "cleaner"})


# (d) a restricted record shows nothing but its QA reference


def test_restricted_request_shows_only_the_reference() -> None:
    ctx = ALLOCATION | {"restricted": True, "month": "March 2027"}  # unlike the accept-by date
    payload = text_of(render("allocation_request", ctx))
    assert "QA-2027-01-017" in payload and "restricted — contact the QA team" in payload
    for key in ("category", "team", "practitioner", "team_manager", "case_link", "month"):
        assert ctx[key] not in payload
    assert "casesystem" not in payload and "Practitioner" not in payload


@pytest.mark.parametrize(("name", "ctx"), ASKS)
def test_allocation_offers_accept_and_decline_with_the_audit_id(name: str, ctx: dict) -> None:
    actions = render(name, ctx)["blocks"][-1]
    assert actions["block_id"] == "allocation_actions"
    assert [(b["action_id"], b["value"]) for b in actions["elements"]] == [
        ("allocation_accept", str(ctx["audit_id"])),
        ("allocation_decline", str(ctx["audit_id"])),
    ]
    assert actions["elements"][0]["style"] == "primary"


def test_each_item_of_a_digest_has_the_buttons_that_answer_it() -> None:
    """Each reminder in a digest carries the action_ids and values of the message that asked for it, in an actions
    block of its own (block_ids unique in the message); a decided allocation has none left."""
    ctx = next(ctx for name, ctx in CASES if name == "action_digest" and len(ctx["items"]) > 10)
    blocks = render("action_digest", ctx)["blocks"]
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids))
    buttons = [(e["action_id"], e["value"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [
        ("allocation_accept", "17"),
        ("allocation_decline", "17"),
        ("allocation_accept", "18"),
        ("allocation_decline", "18"),
        ("self_assessment_open", "17"),
        ("self_assessment_open", "18"),
        ("self_assessment_open", "19"),
        ("moderation_open", "4"),
        ("moderation_open", "5"),
        ("pathway_record", "0"),
        ("pathway_escalate", "1"),
        ("pathway_record", "2"),
        ("pathway_acknowledge", "3"),
        ("action_done_open", "1"),
        ("action_done_open", "2"),
        ("action_done_open", "3"),
        ("action_sign_off", "4"),
        ("action_reopen_open", "4"),
        ("action_sign_off", "5"),
        ("action_reopen_open", "5"),
    ]
    assert "passed back by Alex Green" in text_of(render("action_digest", ctx))
    snoozable = [
        b["block_id"].split(":")[1] for b in blocks if b.get("accessory", {}).get("action_id") == "digest_snooze"
    ]
    assert snoozable == ["action"] * 4 + ["audit"] * 2  # the actions and supervision reminders; due_soon is snoozed


def test_a_digest_of_many_allocations_stays_within_slacks_50_blocks() -> None:
    ctx = next(ctx for name, ctx in CASES if name == "action_digest" and len(ctx["items"]) == 30)
    blocks = render("action_digest", ctx)["blocks"]
    assert len(blocks) <= 50
    assert blocks[-1]["text"]["text"].startswith("…and 10 more: QA-2027-01-017")


def test_cro_is_asked_for_only_when_required() -> None:
    assert "Conference &amp; Reviewing Officer" in text_of(render("allocation_request", ALLOCATION))
    without = render("allocation_request", ALLOCATION | {"cro_required": False})
    assert "Reviewing Officer" not in text_of(without)


def test_accepted_message_replaces_the_answers_with_the_next_step() -> None:
    payload = render("allocation_accepted", EXAMPLES["allocation_accepted"][0])
    actions = [e["action_id"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["meeting_open"]
    assert payload["text"] == "QA-2027-01-017: accepted by Alex Green on 6 Jan 2027, 09:12."


# (e) every message has plain text for notifications and screen readers


@pytest.mark.parametrize(("name", "ctx"), [c for c in CASES if c[0] not in VIEWS])
def test_every_message_has_text(name: str, ctx: dict) -> None:
    assert rendered(name, ctx)["text"].strip()


# App Home


def test_home_says_plainly_when_nothing_is_waiting() -> None:
    assert "Nothing is waiting for you" in text_of(render_view("home", EXAMPLES["home"][0]))


def test_home_caps_long_lists() -> None:
    long = EXAMPLES["home"][-1]
    payload = render_view("home", long)
    assert len(payload["blocks"]) <= 100
    text = text_of(payload)
    sections = long["waiting"] + long["watching"]
    assert text.count(' more"') == len(sections)  # every list says how many it leaves out
    assert "*Allocations to accept* (60)" in text and "…and 50 more" in text  # the first list: ten shown


def test_home_shows_waiting_before_watching_and_each_section_once() -> None:
    payload = text_of(render_view("home", EXAMPLES["home"][2]))
    assert payload.index("Waiting for you") < payload.index("What you are watching")
    for title in ("Allocations to accept", "Your moderation queue", "Your team's audits", "Your audits"):
        assert payload.count(f"*{title}*") == 1
    assert "QA-2027-01-017* — Alex Green is auditing" in payload
    assert "*QA-2027-01-018* — restricted — contact the QA team." in payload


def test_home_shows_the_qa_team_the_month() -> None:
    payload = text_of(render_view("home", EXAMPLES["home"][3]))
    assert "*This month: January 2027*" in payload
    assert "*Moderations late*\\n1" in payload and "*Safeguarding alerts open*\\n1" in payload
    assert "3 waiting in the learning queue" in payload


def test_home_for_someone_not_in_the_directory() -> None:
    assert "not in qabot's staff directory" in text_of(render_view("home", EXAMPLES["home"][1]))


# filters


def test_mrkdwn_escapes_control_characters() -> None:
    assert mrkdwn("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("outstanding", "Outstanding"),
        ("good", "Good"),
        ("requires_improvement", "Requires Improvement"),
        ("inadequate", "Inadequate"),
    ],
)
def test_grade_in_words(code: str, words: str) -> None:
    assert grade(code) == words


def test_unknown_grade_fails() -> None:
    with pytest.raises(ValueError, match="unknown grade code 'meh'"):
        grade("meh")


def test_link_cannot_be_broken_out_of() -> None:
    expected = "<https://x.example/abcd|Case &lt;1&gt; &amp; co>"
    assert link("https://x.example/a|b>c<d", "Case <1> & co") == expected


def test_dates_in_local_time() -> None:
    summer = datetime(2027, 7, 1, 23, 30, tzinfo=UTC)  # already 2 July in London (BST)
    ctx = {"qa_ref": "QA-1", "audit_id": 1, "by_name": "A", "at": summer}
    assert "on 2 Jul 2027, 00:30" in render("allocation_accepted", ctx)["text"]
    assert "on 1 Jul 2027, 23:30" in render("allocation_accepted", ctx, tz=UTC)["text"]
    item = {"qa_ref": "QA-1", "restricted": False, "id": 1, "status": "allocated", "due": summer}
    waiting = [{"kind": "accept", "items": [item], "count": 1}]
    home = {"name": "A", "waiting": waiting, "watching": [], "progress": None, "learning_queue": None}
    assert "Friday 2 July 2027" in text_of(render_view("home", home))
    digest = render("action_digest", EXAMPLES["action_digest"][2])
    assert "Wednesday 6 January 2027" in text_of(digest)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        render(
            "allocation_accepted", {"qa_ref": "QA-1", "audit_id": 1, "by_name": "A", "at": datetime(2027, 1, 6, 9, 12)}
        )


def test_day_accepts_a_plain_date() -> None:
    ctx = EXAMPLES["allocation_request"][0] | {"accept_by": date(2027, 2, 1)}
    assert "Monday 1 February 2027" in text_of(render("allocation_request", ctx))
