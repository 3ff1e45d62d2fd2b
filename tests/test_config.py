"""Settings come from the environment; a bad one stops the command with one clear line and exit code 2."""

import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from bot import cli, config
from bot.config import ConfigError
from bot.framework import Framework, load_framework


def test_defaults_match_the_design():
    s = config.load({})
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.database_url == "sqlite:///qabot.sqlite3"
    assert str(s.timezone) == "Europe/London"
    assert s.port == 3000
    assert [t.isoformat("minutes") for t in s.working_hours] == ["09:00", "17:30"]


def test_values_are_read_and_normalised():
    s = config.load(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "PORT": "8080",
            "DATABASE_URL": "postgresql://qa@db/qabot",
            "QABOT_QA_CHANNEL": "C0123ABCD",
            "QABOT_CASE_URL": "https://cases.example/p/{case_id}",
            "QABOT_WORKING_HOURS": "08:30-17:00",
        }
    )
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.database_url == "postgresql+psycopg://qa@db/qabot"
    assert s.port == 8080 and s.qa_channel == "C0123ABCD"
    assert s.working_hours[0].hour == 8 and s.working_hours[1].hour == 17


@pytest.mark.parametrize(
    "variable,value",
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token"),
        ("SLACK_API_URL", "slack.com/api"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("QABOT_TIMEZONE", "Mars/Olympus"),
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("QABOT_QA_CHANNEL", "#qa-team"),
        ("QABOT_CASE_URL", "https://cases.example/p/"),
        ("QABOT_WORKING_HOURS", "17:30-09:00"),
    ],
)
def test_malformed_setting_is_named(variable, value):
    with pytest.raises(ConfigError) as caught:
        config.load({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(variable)


def test_command_stops_with_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "eighty")
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["qabot: configuration error: PORT must be a port number from 1 to 65535, got 'eighty'"]


def test_missing_required_setting_is_named(monkeypatch, capsys):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["serve"]) == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err


def test_real_process_prints_no_traceback(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "QABOT_TIMEZONE": "Nowhere/Atlantis",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip() == "qabot: configuration error: QABOT_TIMEZONE is not a known time zone: 'Nowhere/Atlantis'"
    )


def test_a_local_env_file_is_read_but_the_environment_wins(tmp_path, monkeypatch, capsys):
    (tmp_path / ".env").write_text("PORT=eighty-from-dotenv\nQABOT_TIMEZONE=Europe/London\n")
    monkeypatch.chdir(tmp_path)
    for name in ("PORT", "QABOT_TIMEZONE"):  # recorded, so what the .env adds is undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert cli.main(["serve"]) == 2
    assert "got 'eighty-from-dotenv'" in capsys.readouterr().err
    monkeypatch.setenv("PORT", "ninety")
    assert cli.main(["serve"]) == 2
    assert "got 'ninety'" in capsys.readouterr().err


def test_the_framework_file_changes_the_numbers_and_the_example_matches_the_defaults(tmp_path):
    example = Path(__file__).parents[1] / "framework.example.toml"
    assert load_framework(str(example)) == Framework()
    # The example is the one documented place: it lists every setting, not only some.
    assert set(tomllib.loads(example.read_text("utf-8"))) == {f.name for f in fields(Framework)}
    (tmp_path / "qaf.toml").write_text("team_quota = 4\nreminder_time = 08:30:00\n")
    s = config.load({"QABOT_FRAMEWORK_FILE": str(tmp_path / "qaf.toml")})
    assert s.framework.team_quota == 4 and s.framework.reminder_time.isoformat() == "08:30:00"
    assert s.framework.auditor_monthly_max == Framework().auditor_monthly_max


@pytest.mark.parametrize(
    "text,problem",
    [
        ("team_quota = -1\n", "team_quota must be a whole number of 1 or more, got -1"),
        ("teem_quota = 2\n", "unknown setting 'teem_quota'"),
        ("team_quota = \n", "is not valid TOML"),
        ("team_quota = 2\nreminder_time = 09:30\nteam_quota = 3\n", "is not valid TOML"),
        ("reminder_time = 9\n", "reminder_time must be a time such as 09:00:00"),
        ('reminder_time = "half nine"\n', "reminder_time must be a time such as 09:00:00"),
        ('reminder_time = "25:00"\n', "reminder_time must be a time such as 09:00:00"),
        ("reminder_time = 17:30:00\n", "reminder_time 17:30 is not before the end of the working day"),
        ("escalation_window_days = 0\n", "escalation_window_days must be a whole number of 1 or more, got 0"),
        ("auditor_monthly_max = 0\n", "auditor_monthly_max must be a whole number of 1 or more"),
        ("supervision_weeks = 0\n", "supervision_weeks must be a whole number of 1 or more"),
        ("team_quota = true\n", "team_quota must be a whole number"),
    ],
)
def test_a_bad_framework_file_is_named(tmp_path, text, problem):
    (tmp_path / "qaf.toml").write_text(text)
    with pytest.raises(ConfigError, match=problem) as caught:
        config.load({"QABOT_FRAMEWORK_FILE": str(tmp_path / "qaf.toml")})
    assert caught.value.variable == "QABOT_FRAMEWORK_FILE"


@pytest.mark.parametrize(
    "line,expected",
    [
        ("reminder_time = 09:30", "09:30:00"),
        ("reminder_time = 8:05  # early", "08:05:00"),
        ('reminder_time = "09:30"', "09:30:00"),
    ],
)
def test_a_reminder_time_without_seconds_is_read_as_people_write_it(tmp_path, line, expected):
    (tmp_path / "qaf.toml").write_text(f"team_quota = 3\n{line}\n")
    framework = load_framework(str(tmp_path / "qaf.toml"))
    assert framework.reminder_time.isoformat() == expected and framework.team_quota == 3


def test_each_number_has_its_own_least_value(tmp_path):
    """0 is allowed where it means something (no months left alone, the meeting day itself, a reminder only once,
    resolve the same day); elsewhere it would stop the Framework working, so the least is 1."""
    zero_allowed = {
        "recently_audited_months",
        "self_assessment_days_before_meeting",
        "action_reminder_days_before",
        "action_reminder_every_days",
        "safeguarding_resolve_within_days",
    }
    for f in fields(Framework):
        if f.name == "reminder_time":
            continue
        (tmp_path / "qaf.toml").write_text(f"{f.name} = 0\n")
        if f.name in zero_allowed:
            assert getattr(load_framework(str(tmp_path / "qaf.toml")), f.name) == 0
        else:
            with pytest.raises(ValueError, match=f"{f.name} must be a whole number of 1 or more, got 0"):
                load_framework(str(tmp_path / "qaf.toml"))


def test_a_reminder_time_after_the_working_day_names_the_working_hours_when_there_is_no_file():
    with pytest.raises(ConfigError, match="reminder_time 09:00 is not before the end") as caught:
        config.load({"QABOT_WORKING_HOURS": "06:00-09:00"})
    assert caught.value.variable == "QABOT_WORKING_HOURS"
