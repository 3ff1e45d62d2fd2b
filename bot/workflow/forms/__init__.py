"""Audit forms as data: one TOML file per audit kind in this folder, and the versioned grade scale.

`load_form("collaborative")` reads `collaborative.toml`; `grade_scale()` reads `grades.toml`. The files are the
single source of the questions: code asks a form for its grade questions, its overall grade and its immediate
concern question (by `role`), and never names a domain. Loading checks the file against Slack's limits and the
QAF's rules and raises `FormError` naming the file, the step and the question that is wrong.

Answers are a flat dict keyed by question id (which is also the modal's block_id):
grade -> grade code, and its rationale under `question.rationale_id`; yes_no -> "yes" / "no";
choice -> an option value; checkboxes -> a list of option values; text -> a string.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

KINDS = ("grade", "yes_no", "choice", "checkboxes", "text")
ROLES = {"overall_grade": "grade", "immediate_concern": "yes_no"}  # role -> the kind it must be
MAX_STEP_TITLE = 24  # a Slack modal title
MAX_STEP_QUESTIONS = 15  # what one modal comfortably holds (a grade question is up to four blocks)
MAX_LABEL = 2000  # a Slack input label
MAX_HINT = 300  # ours: a hint longer than this is not read (Slack allows 2000)
MAX_INTRO = 3000  # a section block's text
MAX_TEXT = 3000  # a Slack plain_text_input's max_length
MAX_OPTION_TEXT = 75  # an option's text and description
MAX_OPTIONS = 10  # radio buttons and checkboxes
MAX_DESCRIPTORS = 2000  # one grade's descriptors, one per line: a section field
RATIONALE_SUFFIX = "_rationale"
DEFAULT_RATIONALE_HINT = (
    "Say what the evidence shows about the impact on the child, not only whether processes were followed. "
    "No names or other personal details."
)

_FOLDER = files(__package__)
_GRADES_FILE = "grades.toml"
_ID = re.compile(r"[a-z][a-z0-9_]{0,59}\Z")


class FormError(ValueError):
    """A form or grade-scale file that cannot be used; the message says which file, step and question."""


@dataclass(frozen=True)
class Grade:
    code: str  # stored, never shown
    words: str  # shown: "Requires Improvement"


@dataclass(frozen=True)
class GradeScale:
    version: str
    grades: tuple[Grade, ...]  # best first, worst last

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(g.code for g in self.grades)

    @property
    def best(self) -> str:
        return self.grades[0].code

    @property
    def worst(self) -> str:
        """The code of the worst grade ("inadequate"), which triggers immediate moderation and re-audit."""
        return self.grades[-1].code

    def words(self, code: str) -> str:
        for g in self.grades:
            if g.code == code:
                return g.words
        raise ValueError(f"unknown grade code {code!r} in grade scale {self.version!r}")

    def __contains__(self, code: object) -> bool:
        return code in self.codes


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    kind: str
    required: bool = True
    hint: str = ""
    options: tuple[Option, ...] = ()  # grade: the scale's grades; yes_no: Yes / No
    descriptors: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    rationale: bool = False  # always True for a grade question, False otherwise
    rationale_label: str = ""
    rationale_hint: str = ""
    max_length: int = MAX_TEXT  # text answers and rationales
    multiline: bool = True  # text answers (a rationale is always multiline)
    role: str | None = None

    @property
    def rationale_id(self) -> str | None:
        """The answer key (and block_id) of the written rationale that a grade question carries."""
        return self.id + RATIONALE_SUFFIX if self.rationale else None

    @property
    def answer_ids(self) -> tuple[str, ...]:
        return (self.id, self.rationale_id) if self.rationale_id else (self.id,)

    def errors(self, answers: Mapping[str, Any]) -> dict[str, str]:
        """Per answer key, what is wrong with the answer, in words a social worker understands."""
        value = answers.get(self.id)
        errors: dict[str, str] = {}
        if self.kind == "grade":
            rationale = answers.get(self.rationale_id or "")
            if _blank(value):
                if self.required:
                    errors[self.id] = self._grade_missing()
                elif not _blank(rationale):
                    errors[self.id] = f"Please give a grade for {self.label}, or delete the rationale."
            elif not self._is_option(value):
                errors[self.id] = "Please choose a grade from the list."
            if _blank(rationale) or not isinstance(rationale, str):
                if self.required or not _blank(value):
                    errors[self.rationale_id or ""] = "Please say why you gave this grade."
            elif problem := self._too_long(rationale):
                errors[self.rationale_id or ""] = problem
        elif _blank(value):
            if self.required:
                errors[self.id] = _MISSING[self.kind]
        elif self.kind == "checkboxes":
            ticked = [value] if isinstance(value, str) else value
            if not isinstance(ticked, list | tuple | set | frozenset) or not all(map(self._is_option, ticked)):
                errors[self.id] = "Please tick only the boxes shown."
        elif self.kind in ("yes_no", "choice"):
            if not self._is_option(value):
                errors[self.id] = (
                    "Please answer yes or no." if self.kind == "yes_no" else "Please choose from the list."
                )
        elif not isinstance(value, str):
            errors[self.id] = _MISSING["text"]
        elif problem := self._too_long(value):
            errors[self.id] = problem
        return errors

    def _grade_missing(self) -> str:
        return (
            "Please give the overall grade."
            if self.role == "overall_grade"
            else f"Please give a grade for {self.label}."
        )

    def _is_option(self, value: object) -> bool:
        return isinstance(value, str) and any(o.value == value for o in self.options)

    def _too_long(self, text: str) -> str | None:
        if len(text) <= self.max_length:
            return None
        return f"Please shorten this to {self.max_length:,} characters or fewer (it is {len(text):,})."


_MISSING = {
    "yes_no": "Please answer yes or no.",
    "choice": "Please choose an answer.",
    "checkboxes": "Please tick at least one box.",
    "text": "Please fill this in.",
}


@dataclass(frozen=True)
class Step:
    id: str
    title: str  # the modal's title, at most 24 characters
    questions: tuple[Question, ...]
    intro: str = ""


@dataclass(frozen=True)
class FormDefinition:
    kind: str
    version: str
    title: str
    grade_scale: str  # the version of the grade scale its grade questions use
    steps: tuple[Step, ...]

    @property
    def ref(self) -> str:
        """Which form, by version, e.g. "collaborative@1" (what an audit records it was completed on)."""
        return f"{self.kind}@{self.version}"

    @property
    def scale(self) -> GradeScale:
        return grade_scale(self.grade_scale)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.steps for q in s.questions)

    @property
    def grade_questions(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.kind == "grade")

    @property
    def domains(self) -> tuple[Question, ...]:
        """The graded domains: every grade question except the overall grade."""
        return tuple(q for q in self.grade_questions if q.role != "overall_grade")

    @property
    def overall(self) -> Question | None:
        return self.with_role("overall_grade")

    @property
    def concern(self) -> Question | None:
        """The immediate safeguarding concern question: a "yes" is escalated at once."""
        return self.with_role("immediate_concern")

    def with_role(self, role: str) -> Question | None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
        return next((q for q in self.questions if q.role == role), None)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"form {self.ref} has no question {question_id!r}")

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"form {self.ref} has no step {step_id!r}")

    def validate_answers(self, answers: Mapping[str, Any], *, step: str | None = None) -> dict[str, str]:
        """Per answer key (block_id), a message saying what to fix; empty when all is well.

        With `step`, only that step's questions are checked (one modal's submission)."""
        questions = self.step(step).questions if step else self.questions
        errors: dict[str, str] = {}
        for q in questions:
            errors.update(q.errors(answers))
        return errors


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


# ----- grade scales -----------------------------------------------------------------------------------------


def grade_scale(version: str | None = None) -> GradeScale:
    """The grade scale of that version; by default the current one."""
    current, scales = _scales()
    key = current if version is None else version
    try:
        return scales[key]
    except KeyError:
        raise FormError(f"unknown grade scale {key!r} (known: {', '.join(scales)})") from None


def grade_scale_versions() -> tuple[str, ...]:
    return tuple(_scales()[1])


@cache
def _scales() -> tuple[str, dict[str, GradeScale]]:
    where = _GRADES_FILE
    data = _parse(_FOLDER.joinpath(_GRADES_FILE).read_text("utf-8"), where)
    _keys(data, where, required=("current", "scales"), optional=())
    if not isinstance(data["scales"], dict) or not data["scales"]:
        raise FormError(f"{where}: `scales` must be a table of at least one grade scale")
    scales = {}
    for version, table in data["scales"].items():
        here = f"{where}: scale {version!r}"
        _keys(table, here, required=("grades",), optional=())
        rows = table["grades"]
        if not isinstance(rows, list) or len(rows) < 2:
            raise FormError(f"{here}: `grades` must list at least two grades, best first")
        grades = []
        for n, row in enumerate(rows, 1):
            _keys(row, f"{here}, grade {n}", required=("code", "words"), optional=())
            grades.append(Grade(_id(row["code"], f"{here}, grade {n}"), _text(row, "words", f"{here}, grade {n}")))
        if len({g.code for g in grades}) != len(grades):
            raise FormError(f"{here}: a grade code is listed twice")
        scales[version] = GradeScale(version, tuple(grades))
    if data["current"] not in scales:
        raise FormError(f"{where}: current scale {data['current']!r} is not one of {', '.join(scales)}")
    return data["current"], scales


# ----- forms ------------------------------------------------------------------------------------------------


def form_kinds() -> tuple[str, ...]:
    """The audit kinds that have a form in this folder."""
    names = (p.name for p in _FOLDER.iterdir() if p.name.endswith(".toml") and p.name != _GRADES_FILE)
    return tuple(sorted(name.removesuffix(".toml") for name in names))


def load_form(kind: str = "collaborative", path: str | os.PathLike[str] | None = None) -> FormDefinition:
    """The form for that audit kind, from this folder or from `path`; checked, or FormError says why."""
    if path is not None:
        return _read_form(kind, Path(path).read_text("utf-8"), str(path))
    return _packaged_form(kind)


@cache
def _packaged_form(kind: str) -> FormDefinition:
    if not _ID.match(kind) or kind not in form_kinds():
        raise FormError(f"there is no {kind!r} audit form (known: {', '.join(form_kinds())})")
    return _read_form(kind, _FOLDER.joinpath(f"{kind}.toml").read_text("utf-8"), f"{kind}.toml")


def questions_form(kind: str, version: str, title: str, scale_version: str, rows: list[dict]) -> FormDefinition:
    """A form that is not a file: a thematic audit's own questions (`{"id", "label", "kind"}` each), checked as a
    file's would be, in as many modals as they need, each titled by `title` (with its number when there are
    several)."""
    where = f"{kind} form {version}"
    scale = grade_scale(scale_version)
    questions = tuple(_read_question(dict(row), scale, f"{where}, question {n}") for n, row in enumerate(rows, 1))
    if not questions:
        raise FormError(f"{where}: needs at least one question")
    per_step = MAX_STEP_QUESTIONS // 2  # a grade question is two inputs (and its guide)
    chunks = [questions[i : i + per_step] for i in range(0, len(questions), per_step)]
    steps = tuple(
        Step(
            id=f"part{n}",
            title=f"{title} {n}/{len(chunks)}" if len(chunks) > 1 else title,
            questions=chunk,
        )
        for n, chunk in enumerate(chunks, 1)
    )
    _check_unique(steps, where)
    return FormDefinition(kind=kind, version=version, title=title, grade_scale=scale.version, steps=steps)


def _read_form(kind: str, source: str, where: str) -> FormDefinition:
    data = _parse(source, where)
    _keys(data, where, required=("kind", "version", "title", "grade_scale", "steps"), optional=())
    if data["kind"] != kind:
        raise FormError(f"{where}: defines the {data['kind']!r} form, not {kind!r}")
    version, title = _text(data, "version", where), _text(data, "title", where)
    try:
        scale = grade_scale(_text(data, "grade_scale", where))
    except FormError as e:
        raise FormError(f"{where}: {e}") from None
    steps_data = data["steps"]
    if not isinstance(steps_data, list) or not steps_data:
        raise FormError(f"{where}: needs at least one [[steps]] table")
    steps = tuple(_read_step(table, n, scale, f"{where}: step {n}") for n, table in enumerate(steps_data, 1))
    _check_unique(steps, where)
    return FormDefinition(kind=kind, version=version, title=title, grade_scale=scale.version, steps=steps)


def _read_step(table: Any, n: int, scale: GradeScale, where: str) -> Step:
    _keys(table, where, required=("id", "title", "questions"), optional=("intro",))
    step_id = _id(table["id"], where)
    where = f"{where} ({step_id!r})"
    title = _text(table, "title", where, limit=MAX_STEP_TITLE, what="a Slack modal title")
    intro = _text(table, "intro", where, limit=MAX_INTRO, default="")
    rows = table["questions"]
    if not isinstance(rows, list) or not rows:
        raise FormError(f"{where}: needs at least one [[steps.questions]] table")
    if len(rows) > MAX_STEP_QUESTIONS:
        raise FormError(f"{where}: has {len(rows)} questions, at most {MAX_STEP_QUESTIONS} fit in one modal")
    questions = tuple(_read_question(row, scale, f"{where}, question {m}") for m, row in enumerate(rows, 1))
    return Step(id=step_id, title=title, questions=questions, intro=intro)


_QUESTION_KEYS = {
    "grade": ("rationale", "rationale_label", "rationale_hint", "max_length", "descriptors", "grade_scale"),
    "yes_no": (),
    "choice": ("options",),
    "checkboxes": ("options",),
    "text": ("max_length", "multiline"),
}
_COMMON_KEYS = ("required", "hint", "role")


def _read_question(row: Any, scale: GradeScale, where: str) -> Question:
    if isinstance(row, dict) and "id" in row:
        where = f"{where} ({row['id']!r})"
    if not isinstance(row, dict) or row.get("kind") not in KINDS:
        kind = row.get("kind") if isinstance(row, dict) else None
        raise FormError(f"{where}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    kind = row["kind"]
    _keys(row, where, required=("id", "label", "kind"), optional=_COMMON_KEYS + _QUESTION_KEYS[kind])
    qid = _id(row["id"], where)
    required = row.get("required", True)
    if not isinstance(required, bool):
        raise FormError(f"{where}: `required` must be true or false")
    role = row.get("role")
    if role is not None and ROLES.get(role) != kind:
        if role not in ROLES:
            raise FormError(f"{where}: unknown role {role!r} (known: {', '.join(ROLES)})")
        raise FormError(f"{where}: role {role!r} needs a {ROLES[role]} question, not {kind}")
    fields: dict[str, Any] = {
        "id": qid,
        "label": _text(row, "label", where, limit=MAX_LABEL),
        "kind": kind,
        "required": required,
        "hint": _text(row, "hint", where, limit=MAX_HINT, default="", what="a hint"),
        "role": role,
    }
    if kind in ("grade", "text"):
        fields["max_length"] = _max_length(row, where)
    if kind == "grade":
        if row.get("rationale", True) is not True:
            raise FormError(
                f"{where}: every grade needs a written rationale (the QAF makes it mandatory); "
                "remove `rationale = false`"
            )
        if row.get("grade_scale", scale.version) != scale.version:
            raise FormError(
                f"{where}: uses grade scale {row['grade_scale']!r}, but the form grades on {scale.version!r}"
            )
        fields["options"] = tuple(Option(g.code, g.words) for g in scale.grades)
        fields["rationale"] = True
        fields["rationale_label"] = _text(row, "rationale_label", where, limit=MAX_LABEL, default="")
        fields["rationale_label"] = fields["rationale_label"] or f"Why this grade for {fields['label']}?"
        fields["rationale_hint"] = _text(row, "rationale_hint", where, limit=MAX_HINT, default="", what="a hint")
        fields["rationale_hint"] = fields["rationale_hint"] or DEFAULT_RATIONALE_HINT
        fields["descriptors"] = _descriptors(row.get("descriptors", {}), scale, where)
    elif kind == "yes_no":
        fields["options"] = (Option("yes", "Yes"), Option("no", "No"))
    elif kind in ("choice", "checkboxes"):
        fields["options"] = _options(row, where)
    elif kind == "text":
        multiline = row.get("multiline", True)
        if not isinstance(multiline, bool):
            raise FormError(f"{where}: `multiline` must be true or false")
        fields["multiline"] = multiline
    return Question(**fields)


def _options(row: dict, where: str) -> tuple[Option, ...]:
    rows = row.get("options")
    if not isinstance(rows, list) or not rows:
        raise FormError(f"{where}: a {row['kind']} question needs `options` (a list of {{ value, label }})")
    if len(rows) > MAX_OPTIONS:
        raise FormError(f"{where}: has {len(rows)} options, at most {MAX_OPTIONS} allowed")
    options = []
    for n, item in enumerate(rows, 1):
        here = f"{where}, option {n}"
        _keys(item, here, required=("value", "label"), optional=("description",))
        options.append(
            Option(
                _id(item["value"], here),
                _text(item, "label", here, limit=MAX_OPTION_TEXT, what="an option"),
                _text(item, "description", here, limit=MAX_OPTION_TEXT, default="", what="an option description"),
            )
        )
    if len({o.value for o in options}) != len(options):
        raise FormError(f"{where}: an option value is listed twice")
    return tuple(options)


def _descriptors(table: Any, scale: GradeScale, where: str) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        raise FormError(f"{where}: `descriptors` must be a table of grade code = [phrases]")
    for code in table:
        if code not in scale:
            raise FormError(
                f"{where}: descriptors for unknown grade {code!r} (grade scale {scale.version!r}: "
                f"{', '.join(scale.codes)})"
            )
    found = {}
    for code in scale.codes:  # best to worst, whatever order the file used
        if code not in table:
            continue
        phrases = table[code]
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise FormError(f"{where}: descriptors for {code!r} must be a list of short phrases")
        if len("\n".join(phrases)) > MAX_DESCRIPTORS:
            raise FormError(f"{where}: descriptors for {code!r} are longer than {MAX_DESCRIPTORS} characters")
        found[code] = tuple(p.strip() for p in phrases)
    return MappingProxyType(found)


def _max_length(row: dict, where: str) -> int:
    value = row.get("max_length", MAX_TEXT)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TEXT:
        raise FormError(f"{where}: `max_length` must be a whole number from 1 to {MAX_TEXT}")
    return value


def _check_unique(steps: tuple[Step, ...], where: str) -> None:
    step_ids: set[str] = set()
    for step in steps:
        if step.id in step_ids:
            raise FormError(f"{where}: step id {step.id!r} is used twice")
        step_ids.add(step.id)
    seen: dict[str, str] = {}  # answer id -> what uses it
    roles: set[str] = set()
    for step, question in _each_question(steps):
        for answer_id in question.answer_ids:
            if answer_id in seen:
                raise FormError(
                    f"{where}: question id {answer_id!r} in step {step.id!r} is already used by {seen[answer_id]} "
                    "(ids must be unique across the form, and a grade's rationale is stored as <id>_rationale)"
                )
            owner = f"question {question.id!r}" if answer_id == question.id else f"the rationale of {question.id!r}"
            seen[answer_id] = f"{owner} in step {step.id!r}"
        if question.role:
            if question.role in roles:
                raise FormError(f"{where}: more than one question has role {question.role!r}")
            roles.add(question.role)


def _each_question(steps: tuple[Step, ...]) -> Iterator[tuple[Step, Question]]:
    for step in steps:
        for question in step.questions:
            yield step, question


# ----- reading TOML -----------------------------------------------------------------------------------------


def _parse(source: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as e:
        raise FormError(f"{where} is not valid TOML: {e}") from None


def _keys(table: Any, where: str, *, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    if not isinstance(table, dict):
        raise FormError(f"{where}: must be a table, not {type(table).__name__}")
    for key in table:
        if key not in required and key not in optional:
            known = ", ".join((*required, *optional))
            raise FormError(f"{where}: unknown key {key!r} (known: {known})")
    for key in required:
        if key not in table:
            raise FormError(f"{where}: missing {key!r}")


def _text(table: dict, key: str, where: str, *, limit: int = 200, default: str | None = None, what: str = "") -> str:
    value = table.get(key, default)
    if value is None:
        raise FormError(f"{where}: missing {key!r}")
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise FormError(f"{where}: `{key}` must be non-empty text")
    value = value.strip()
    if len(value) > limit:
        raise FormError(
            f"{where}: `{key}` is {len(value)} characters, at most {limit} allowed" + (f" for {what}" if what else "")
        )
    return value


def _id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise FormError(f"{where}: id {value!r} must be lower-case letters, digits and _ (at most 60)")
    return value
