"""Audit forms as data (bot/workflow/forms): the shipped collaborative form, the grade scale, the loader's checks
and the messages a social worker sees when an answer is missing or wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.workflow.forms import (
    MAX_HINT,
    MAX_STEP_QUESTIONS,
    MAX_STEP_TITLE,
    FormDefinition,
    FormError,
    Grade,
    form_kinds,
    grade_scale,
    load_form,
)

# DESIGN.md, "Domain rules": the collaborative audit tool's domains.
DOMAINS = [
    "Assessment",
    "Planning",
    "Intervention & Visiting",
    "Review",
    "Management Oversight & Supervision",
    "Partnership / multi-agency working",
]
# The domains the seed has a descriptor image for (image8 … image12), with one phrase from each column.
SEED_DESCRIPTORS = {
    "assessment": ("Evidence based", "Partially feeds into planning", "No management oversight"),
    "planning": ("SMART", "Not all actions are SMART", "Plans are ineffective and drifting"),
    "intervention_visiting": (
        "Children are seen alone and in a variety of settings",
        "Permanency planning is minimal",
        "The child is overlooked because of their siblings' needs",
    ),
    "review": ("Permanency plans are reviewed", "Lack of analysis", "Safety plans are not reviewed"),
    "management_oversight": (
        "Previous actions are reviewed",
        "Limited reflection",
        "Supervision has not taken place in line with policy",
    ),
}
STEPS = {
    "assessment_planning": ["assessment", "planning"],
    "intervention_review": ["intervention_visiting", "review"],
    "oversight_partnership": ["management_oversight", "partnership"],
    "voice": ["child_voice", "child_voice_evidence"],
    "family_safeguarding": ["fsm_evidence", "fsm_comment"],
    "overall_safeguarding": ["overall", "immediate_concern"],
}


@pytest.fixture(scope="module")
def form() -> FormDefinition:
    return load_form("collaborative")


def complete_answers(form: FormDefinition) -> dict:
    answers: dict = {}
    for q in form.grade_questions:
        answers[q.id] = "good"
        answers[q.rationale_id] = "Direct work shows the child's wishes shaping the plan."
    return answers | {
        "child_voice": "partly",
        "child_voice_evidence": "Seen alone at school; their words are in the record.",
        "fsm_evidence": ["motivational_interviewing", "group_case_supervision"],
        "immediate_concern": "no",
    }


# the grade scale


def test_grade_scale_is_versioned_best_first() -> None:
    scale = grade_scale()
    assert scale.version == "ofsted-2023"
    assert scale.codes == ("outstanding", "good", "requires_improvement", "inadequate")
    assert scale.grades[2] == Grade("requires_improvement", "Requires Improvement")
    assert [scale.words(c) for c in scale.codes] == ["Outstanding", "Good", "Requires Improvement", "Inadequate"]
    assert (scale.best, scale.worst) == ("outstanding", "inadequate")
    assert "good" in scale and "satisfactory" not in scale
    assert grade_scale("ofsted-2023") == scale


def test_unknown_grade_scale_and_grade_are_refused() -> None:
    with pytest.raises(FormError, match="unknown grade scale 'ofsted-2009' \\(known: ofsted-2023\\)"):
        grade_scale("ofsted-2009")
    with pytest.raises(ValueError, match="unknown grade code 'satisfactory'"):
        grade_scale().words("satisfactory")


# the shipped collaborative form


def test_shipped_form_loads(form: FormDefinition) -> None:
    assert (form.kind, form.version, form.ref) == ("collaborative", "1", "collaborative@1")
    assert form.grade_scale == grade_scale().version and form.scale == grade_scale()
    assert form_kinds() == ("collaborative",)
    assert load_form() is form  # cached: the packaged file is read once


def test_steps_and_question_ids(form: FormDefinition) -> None:
    assert {s.id: [q.id for q in s.questions] for s in form.steps} == STEPS


def test_every_step_fits_one_modal(form: FormDefinition) -> None:
    for step in form.steps:
        assert 0 < len(step.title) <= MAX_STEP_TITLE, step.title
        assert 0 < len(step.questions) <= MAX_STEP_QUESTIONS, step.id
        for q in step.questions:
            assert len(q.hint) <= MAX_HINT and len(q.rationale_hint) <= MAX_HINT, q.id
            assert all(len(o.label) <= 75 and len(o.description) <= 75 for o in q.options), q.id


def test_every_design_domain_is_graded_with_a_rationale(form: FormDefinition) -> None:
    assert [q.label for q in form.domains] == DOMAINS
    for q in form.grade_questions:
        assert q.required and q.rationale and q.rationale_id == f"{q.id}_rationale"
        assert [o.value for o in q.options] == list(grade_scale().codes)
        assert q.hint, q.id


def test_descriptors_for_the_five_seed_domains(form: FormDefinition) -> None:
    for qid, (good, ri, inadequate) in SEED_DESCRIPTORS.items():
        d = form.question(qid).descriptors
        assert list(d) == ["good", "requires_improvement", "inadequate"], qid
        assert all(len(d[code]) >= 5 for code in d), qid
        assert good in d["good"] and ri in d["requires_improvement"] and inadequate in d["inadequate"], qid
    # Partnership has no seed image: its descriptors are written from the multi-agency text.
    assert "No multi-agency context" in form.question("partnership").descriptors["inadequate"]


def test_voice_model_overall_and_concern(form: FormDefinition) -> None:
    voice = form.question("child_voice")
    assert voice.label == "Is the child's voice and lived experience evident?"
    assert [o.value for o in voice.options] == ["yes", "partly", "no"]
    assert form.question("child_voice_evidence").kind == "text"
    fsm = form.question("fsm_evidence")
    assert fsm.kind == "checkboxes" and not fsm.required
    assert [o.label for o in fsm.options] == [
        "Motivational interviewing",
        "Multi-disciplinary team",
        "Family Safeguarding workbook & family programme",
        "Group case supervision",
    ]
    assert form.overall is form.question("overall") and form.overall.kind == "grade"
    assert form.concern is form.question("immediate_concern")
    assert form.concern.label == "Is there an immediate safeguarding concern?"
    assert [o.value for o in form.concern.options] == ["yes", "no"] and form.concern.required
    assert form.overall not in form.domains


def test_a_copy_loaded_by_path_is_the_same_form(form: FormDefinition, tmp_path: Path) -> None:
    copy = tmp_path / "collaborative.toml"
    copy.write_text((Path(__file__).parents[1] / "bot/workflow/forms/collaborative.toml").read_text("utf-8"))
    assert load_form(path=copy) == form


@pytest.mark.parametrize("kind", ["thematic_neglect", "grades", "../forms/collaborative", "Collaborative"])
def test_unknown_form_kind(kind: str) -> None:
    with pytest.raises(FormError, match="there is no .* audit form \\(known: collaborative\\)"):
        load_form(kind)


# broken form files are refused, naming the problem

GOOD = """
kind = "collaborative"
version = "1"
title = "Test audit"
grade_scale = "ofsted-2023"

[[steps]]
id = "one"
title = "Step one"

[[steps.questions]]
id = "assessment"
label = "Assessment"
kind = "grade"

[steps.questions.descriptors]
good = ["Evidence based"]

[[steps.questions]]
id = "voice"
label = "Is the child's voice evident?"
kind = "choice"
options = [{ value = "yes", label = "Yes" }, { value = "no", label = "No" }]
"""


def test_the_minimal_form_loads(tmp_path: Path) -> None:
    path = tmp_path / "form.toml"
    path.write_text(GOOD)
    form = load_form(path=path)
    assert [q.id for q in form.questions] == ["assessment", "voice"]
    assert form.question("assessment").rationale_label == "Why this grade for Assessment?"


def extra(*questions: str) -> str:
    return GOOD + "".join(f"\n[[steps.questions]]\n{q}\n" for q in questions)


BROKEN = [
    (
        "duplicate id",
        extra('id = "voice"\nlabel = "Again"\nkind = "text"'),
        "question id 'voice' .* already used by question 'voice' in step 'one'",
    ),
    (
        "rationale id taken",
        extra('id = "assessment_rationale"\nlabel = "Why"\nkind = "text"'),
        "question id 'assessment_rationale' in step 'one' is already used by the rationale of 'assessment'",
    ),
    ("long title", GOOD.replace('"Step one"', '"Assessment, planning and more"'), "`title` is 29 .* at most 24"),
    ("unknown kind", extra('id = "x"\nlabel = "X"\nkind = "slider"'), "question 3 \\('x'\\): unknown kind 'slider'"),
    ("choice without options", extra('id = "x"\nlabel = "X"\nkind = "choice"'), "choice question needs `options`"),
    (
        "checkboxes with 11 options",
        extra(
            'id = "x"\nlabel = "X"\nkind = "checkboxes"\noptions = ['
            + ", ".join(f'{{ value = "o{n}", label = "O{n}" }}' for n in range(11))
            + "]"
        ),
        "has 11 options, at most 10",
    ),
    (
        "grade on another scale",
        extra('id = "x"\nlabel = "X"\nkind = "grade"\ngrade_scale = "ofsted-2009"'),
        "uses grade scale 'ofsted-2009', but the form grades on 'ofsted-2023'",
    ),
    ("form on unknown scale", GOOD.replace('= "ofsted-2023"', '= "ofsted-2009"'), "unknown grade scale 'ofsted-2009'"),
    (
        "rationale switched off",
        extra('id = "x"\nlabel = "X"\nkind = "grade"\nrationale = false'),
        "every grade needs a written rationale",
    ),
    ("typo in a key", extra('id = "x"\nlabel = "X"\nkind = "text"\nrequried = false'), "unknown key 'requried'"),
    ("descriptor for no grade", GOOD.replace("good = [", "excellent = ["), "descriptors for unknown grade 'excellent'"),
    ("long hint", extra(f'id = "x"\nlabel = "X"\nkind = "text"\nhint = "{"x" * 301}"'), "`hint` is 301 .* at most 300"),
    (
        "too many questions",
        extra(*(f'id = "q{n}"\nlabel = "Q{n}"\nkind = "text"' for n in range(14))),
        "has 16 questions, at most 15 fit in one modal",
    ),
    (
        "two overall grades",
        extra(*(f'id = "o{n}"\nlabel = "Overall"\nkind = "grade"\nrole = "overall_grade"' for n in range(2))),
        "more than one question has role 'overall_grade'",
    ),
    ("role on wrong kind", extra('id = "x"\nlabel = "X"\nkind = "text"\nrole = "immediate_concern"'), "needs a yes_no"),
    ("text too long allowed", extra('id = "x"\nlabel = "X"\nkind = "text"\nmax_length = 5000'), "from 1 to 3000"),
    ("options on yes_no", extra('id = "x"\nlabel = "X"\nkind = "yes_no"\noptions = []'), "unknown key 'options'"),
    ("no steps", GOOD.split("[[steps]]")[0] + "steps = []\n", "needs at least one \\[\\[steps\\]\\]"),
    ("other kind", GOOD.replace('kind = "collaborative"', 'kind = "thematic"'), "defines the 'thematic' form"),
    ("not TOML", GOOD + "\nthis is not toml\n", "is not valid TOML"),
]


@pytest.mark.parametrize(("source", "error"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_form_is_refused_naming_the_problem(tmp_path: Path, source: str, error: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(source)
    with pytest.raises(FormError, match=error) as caught:
        load_form(path=path)
    assert str(path) in str(caught.value)


# answers


def test_complete_answers_pass(form: FormDefinition) -> None:
    assert form.validate_answers(complete_answers(form)) == {}


def test_nothing_answered(form: FormDefinition) -> None:
    errors = form.validate_answers({})
    assert errors["planning"] == "Please give a grade for Planning."
    assert errors["planning_rationale"] == "Please say why you gave this grade."
    assert errors["overall"] == "Please give the overall grade."
    assert errors["immediate_concern"] == "Please answer yes or no."
    assert errors["child_voice"] == "Please choose an answer."
    assert errors["child_voice_evidence"] == "Please fill this in."
    assert "fsm_evidence" not in errors and "fsm_comment" not in errors  # optional
    assert len(errors) == 2 * len(form.grade_questions) + 3


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"review_rationale": "   "}, "review_rationale", "Please say why you gave this grade."),
        ({"review_rationale": None}, "review_rationale", "Please say why you gave this grade."),
        ({"review": "excellent"}, "review", "Please choose a grade from the list."),
        ({"child_voice": "maybe"}, "child_voice", "Please choose from the list."),
        ({"immediate_concern": True}, "immediate_concern", "Please answer yes or no."),
        ({"fsm_evidence": ["yoga"]}, "fsm_evidence", "Please tick only the boxes shown."),
        (
            {"child_voice_evidence": "x" * 3001},
            "child_voice_evidence",
            "Please shorten this to 3,000 characters or fewer (it is 3,001).",
        ),
        (
            {"assessment_rationale": "x" * 3001},
            "assessment_rationale",
            "Please shorten this to 3,000 characters or fewer (it is 3,001).",
        ),
    ],
)
def test_a_wrong_answer_is_named(form: FormDefinition, changes: dict, key: str, message: str) -> None:
    assert form.validate_answers(complete_answers(form) | changes) == {key: message}


def test_one_step_at_a_time(form: FormDefinition) -> None:
    answers = {"assessment": "good", "assessment_rationale": "Analytical.", "planning": "inadequate"}
    assert form.validate_answers(answers, step="assessment_planning") == {
        "planning_rationale": "Please say why you gave this grade."
    }
    with pytest.raises(KeyError, match="no step 'nope'"):
        form.validate_answers(answers, step="nope")


def test_an_optional_grade_still_needs_its_rationale(tmp_path: Path) -> None:
    path = tmp_path / "form.toml"
    path.write_text(extra('id = "extra"\nlabel = "Extra domain"\nkind = "grade"\nrequired = false'))
    form = load_form(path=path)
    base = {"assessment": "good", "assessment_rationale": "Fine.", "voice": "yes"}
    assert form.validate_answers(base) == {}
    assert form.validate_answers(base | {"extra": "good"}) == {"extra_rationale": "Please say why you gave this grade."}
    assert form.validate_answers(base | {"extra_rationale": "Because."}) == {
        "extra": "Please give a grade for Extra domain, or delete the rationale."
    }
