"""The quarterly report's attachments, built from its figures (bot.workflow.reports.figures): a CSV of every
figure, and a PNG chart of the overall grades, month by month. Both carry aggregates only, and their file names
only the quarter (`qa-report-2027Q1.csv`)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from bot.workflow.forms import load_form

# Not imported from bot.workflow.reports: the outbox imports this module, and reports imports the outbox.
KIND = "collaborative"

# Best grade first, as the scale lists them: green to red.
COLOURS = ("#1a7f37", "#7cb342", "#f0a202", "#c62828")
LEVELS = {
    "service_manager": "Service Manager",
    "head_of_service": "Head of Service",
    "assistant_director": "Assistant Director",
    "executive_director": "Executive Director",
}
VOICE = {"yes": "evident", "partly": "partly evident", "no": "not evident"}


def file_names(quarter: str) -> tuple[str, str]:
    """The files' names: the quarter and nothing else (a file name is shown wherever the file goes)."""
    if not re.fullmatch(r"\d{4}(Q[1-4]|-(0[1-9]|1[0-2]))", quarter):
        raise ValueError(f"not a quarter or a month: {quarter!r}")
    return f"qa-report-{quarter}.csv", f"qa-report-{quarter}-grades.png"


def attachments(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """What the outbox uploads with the report message, as slack_sdk's `files_upload_v2(file_uploads=…)` takes it."""
    csv_name, png_name = file_names(figures["quarter"])
    period = figures["period"]
    return [
        {"file": csv_bytes(figures), "filename": csv_name, "title": f"QA report figures, {period}"},
        {
            "file": chart_png(figures),
            "filename": png_name,
            "title": f"Overall grades by month, {period}",
            "alt_txt": f"Stacked bar chart of the overall audit grades in each month of {period}.",
        },
    ]


def _words(code: str) -> str:
    return load_form(KIND).scale.words(code)


def _cell(value: Any) -> Any:
    """A spreadsheet would run text starting with = + - @ as a formula: a theme typed as one is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """Every figure as (section, item, measure, value): what the CSV holds, in the message's order."""
    scale = figures["scale"]
    out: list[tuple[str, str, str, Any]] = []
    audits = figures["audits"]
    for month in audits["months"]:
        out += [("audits", month["label"], "allocated", month["allocated"])]
        out += [("audits", month["label"], "completed", month["completed"])]
    out += [
        ("audits", "quarter", "allocated", audits["allocated"]),
        ("audits", "quarter", "completed", audits["completed"]),
    ]
    grades = figures["grades"]
    out += [("overall grade", "quarter", _words(code), n) for code, n in zip(scale, grades["overall"], strict=True)]
    for section, key in (
        ("overall grade", "months"),
        ("grade by domain", "domains"),
        ("overall grade by service", "services"),
    ):
        for item in grades[key]:
            out += [(section, item["label"], _words(code), n) for code, n in zip(scale, item["counts"], strict=True)]
    moderation = figures["moderation"]
    out += [
        ("moderation", "quarter", "audits moderated", moderation["audits"]),
        ("moderation", "quarter", "grades moderated", moderation["grades"]),
        ("moderation", "quarter", "grades changed", moderation["changed"]),
        ("moderation", "quarter", "overall grades changed", moderation["overall_changed"]),
        # Blank, not 0, when no audit was moderated: there is no figure.
        (
            "moderation",
            "quarter",
            "cohen's kappa (overall grade)",
            "" if moderation["kappa"] is None else moderation["kappa"],
        ),
        ("moderation", "quarter", "kappa n", moderation["kappa_n"]),
    ]
    voice = figures["voice"]
    out += [("child's voice", "quarter", "audits answered", voice["answered"])]
    out += [("child's voice", "quarter", words, voice[answer]) for answer, words in VOICE.items()]
    actions = figures["actions"]
    for measure in ("due", "on_time", "late", "overdue", "not_yet_due"):
        out += [("actions", "quarter", measure.replace("_", " "), actions[measure])]
    escalations = figures["escalations"]
    out += [("escalations", "quarter", "started", escalations["total"])]
    out += [
        ("escalations", LEVELS[level["role"]], "highest level reached", level["count"])
        for level in escalations["levels"]
    ]
    out += [("learning themes", theme["label"], "highlights", theme["count"]) for theme in figures["themes"]]
    return out


def csv_bytes(figures: dict[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("quarter", "section", "item", "measure", "value"))
    for row in rows(figures):
        writer.writerow((figures["quarter"], *(_cell(value) for value in row)))
    return buffer.getvalue().encode("utf-8")


def chart_png(figures: dict[str, Any]) -> bytes:
    """Stacked bars of the overall grades in each month of the quarter, and the quarter as a whole (a month's
    report: the one bar)."""
    # Imported here: only the outbox, posting a report, draws; the rest of qabot never loads matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scale = figures["scale"]
    bars = figures["grades"]["months"]
    if len(bars) > 1:
        bars = [*bars, {"label": "Quarter", "counts": figures["grades"]["overall"]}]
    labels = [bar["label"] for bar in bars]
    figure = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bottom = [0] * len(bars)
    for index, code in enumerate(scale):
        heights = [bar["counts"][index] for bar in bars]
        axes.bar(labels, heights, bottom=bottom, label=_words(code), color=COLOURS[index % len(COLOURS)])
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(f"Overall audit grades by month, {figures['period']}")
    axes.set_ylabel("Audits completed")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
    if not any(bottom):
        axes.text(0.5, 0.5, "No audit was completed", transform=axes.transAxes, ha="center", va="center")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
