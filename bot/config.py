"""Settings from the environment. A bad value stops the command with one line naming the variable."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.framework import Framework, load_framework


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable} {problem}")
        self.variable = variable


CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
DEFAULT_DATABASE_URL = "sqlite:///qabot.sqlite3"


@dataclass(frozen=True)
class Retention:
    """How long qabot keeps each kind of record (bot/workflow/retention.py applies it; the README says why)."""

    outbox_days: int = 30  # a delivered notification's content (it copies names, case ids and typed text)
    request_days: int = 7  # request idempotency claims: Slack retries within minutes, signatures expire in 5
    case_list_months: int = 12  # a month's case list rows not under audit, counted from the end of the month
    audit_text_years: int = 3  # a closed audit's typed text and case id: one Ofsted (ILACS) inspection cycle
    events_years: int = 7  # the trail: current year + 6, longer than the 6-year limitation period for claims


RETENTION = {
    "QABOT_RETAIN_OUTBOX_DAYS": "outbox_days",
    "QABOT_RETAIN_REQUESTS_DAYS": "request_days",
    "QABOT_RETAIN_CASE_LISTS_MONTHS": "case_list_months",
    "QABOT_RETAIN_AUDIT_TEXT_YEARS": "audit_text_years",
    "QABOT_RETAIN_EVENTS_YEARS": "events_years",
}


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = DEFAULT_DATABASE_URL
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    port: int = 3000
    qa_channel: str | None = None
    learning_channel: str | None = None
    case_url: str | None = None
    working_hours: tuple[time, time] = (time(9, 0), time(17, 30))
    framework: Framework = field(default_factory=Framework)
    retention: Retention = field(default_factory=Retention)

    def require(self, *names: str) -> Settings:
        """Check that the settings a command needs are present (by environment variable name)."""
        for name in names:
            if not getattr(self, _ATTR[name]):
                raise ConfigError(name, "is not set (see .env.example)")
        return self


_ATTR = {
    "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_SIGNING_SECRET": "slack_signing_secret",
    "SLACK_APP_TOKEN": "slack_app_token",
    "QABOT_QA_CHANNEL": "qa_channel",
    "QABOT_LEARNING_CHANNEL": "learning_channel",
    "QABOT_CASE_URL": "case_url",
}


def load(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    token = get("SLACK_BOT_TOKEN")
    if token and not token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
    app_token = get("SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")

    api_url = get("SLACK_API_URL") or "https://slack.com/api/"
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError("SLACK_API_URL", f"must be an http(s) URL, got {api_url!r}")
    if not api_url.endswith("/"):
        api_url += "/"

    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", "is not a database URL (e.g. postgresql://user@host/qabot)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL", "must be a sqlite:// or postgresql:// URL")
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        database_url = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)

    tz_name = get("QABOT_TIMEZONE") or "Europe/London"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("QABOT_TIMEZONE", f"is not a known time zone: {tz_name!r}") from None

    port_text = get("PORT") or "3000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError("PORT", f"must be a port number from 1 to 65535, got {port_text!r}")

    channels = {}
    for name in ("QABOT_QA_CHANNEL", "QABOT_LEARNING_CHANNEL"):
        value = get(name)
        if value and not CHANNEL_ID.match(value):
            raise ConfigError(name, f"must be a channel ID such as C0123ABCD, got {value!r}")
        channels[name] = value

    case_url = get("QABOT_CASE_URL")
    if case_url and ("{case_id}" not in case_url or urlparse(case_url).scheme not in ("http", "https")):
        raise ConfigError("QABOT_CASE_URL", "must be an http(s) URL containing {case_id}")

    hours_text = get("QABOT_WORKING_HOURS") or "09:00-17:30"
    match = re.fullmatch(r"(\d{1,2}):(\d\d)-(\d{1,2}):(\d\d)", hours_text)
    try:
        start, end = time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))
    except (TypeError, ValueError):
        raise ConfigError("QABOT_WORKING_HOURS", f"must look like 09:00-17:30, got {hours_text!r}") from None
    if start >= end:
        raise ConfigError("QABOT_WORKING_HOURS", "must start before it ends")

    try:
        framework = load_framework(get("QABOT_FRAMEWORK_FILE"))
    except ValueError as exc:
        raise ConfigError("QABOT_FRAMEWORK_FILE", f"is not usable: {exc}") from None
    # Before the working day starts is fine (they go at the start); at or after its end they would never go.
    if framework.reminder_time >= end:
        raise ConfigError(
            "QABOT_FRAMEWORK_FILE" if get("QABOT_FRAMEWORK_FILE") else "QABOT_WORKING_HOURS",
            f"is not usable: reminder_time {framework.reminder_time:%H:%M} is not before the end of the working day"
            f" ({hours_text}), so no reminder would ever go",
        )

    periods = {}
    for name, attr in RETENTION.items():
        value = get(name) or str(getattr(Retention, attr))
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(name, f"must be a whole number of at least 1, got {value!r}")
        periods[attr] = int(value)
    retention = Retention(**periods)
    # The trail is the evidence of what was done with the text: it must outlive it.
    if retention.events_years < retention.audit_text_years:
        raise ConfigError("QABOT_RETAIN_EVENTS_YEARS", "must be at least QABOT_RETAIN_AUDIT_TEXT_YEARS")

    return Settings(
        framework=framework,
        retention=retention,
        slack_bot_token=token,
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=app_token,
        slack_api_url=api_url,
        database_url=database_url,
        timezone=tz,
        port=int(port_text),
        qa_channel=channels["QABOT_QA_CHANNEL"],
        learning_channel=channels["QABOT_LEARNING_CHANNEL"],
        case_url=case_url,
        working_hours=(start, end),
    )
