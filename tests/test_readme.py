"""The README is what a new council reads first: what it names must be what there is."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_architecture_names_every_workflow_module_and_no_other():
    block = _section("Architecture").split("\nbot/workflow/", 1)[1].split("\nstore/", 1)[0]
    listed = []
    for line in block.splitlines()[1:]:
        names = line.split(":", 1)[1] if ":" in line else line  # "label: a, b" or a continued list
        listed += [re.sub(r"\s*\(.*?\)|/", "", name).strip() for name in names.split(",") if name.strip()]
    workflow = ROOT / "bot" / "workflow"
    modules = [p.stem for p in workflow.glob("*.py") if p.stem != "__init__"]
    modules += [p.name for p in workflow.iterdir() if (p / "__init__.py").exists()]
    assert sorted(listed) == sorted(modules)


def test_every_command_and_option_is_documented():
    from bot.cli import parser

    commands = parser()._subparsers._group_actions[0].choices
    for name, command in commands.items():
        assert f"`{name}" in README or f"qabot {name}" in README, name
        for option in command._option_string_actions:
            if option.startswith("--") and option != "--help":
                assert re.search(rf"(?<![\w-]){option}(?![\w-])", README), f"{name} {option}"
