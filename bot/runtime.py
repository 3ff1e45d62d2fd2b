"""What a running qabot process holds: settings, database, calendar, Slack client and outbox."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.calendar import Calendar
from bot.config import Settings
from bot.outbox import Courier, Dispatcher
from store import Database


@dataclass
class Runtime:
    settings: Settings
    database: Database
    calendar: Calendar
    client: WebClient
    dispatcher: Dispatcher
    courier: Courier | None = None

    @classmethod
    def build(cls, settings: Settings, *, timeout: int = 10) -> Runtime:
        database = Database(settings.database_url)
        calendar = Calendar.from_settings(settings)
        # Connection errors are retried by slack_sdk; 429 and 5xx are the outbox's to reschedule, never slept on.
        # Only URLError, raised before the request was wholly sent: a connection reset while waiting for the answer
        # may come after Slack carried the call out, so the outbox looks before it posts again.
        client = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2, error_types=[URLError])],
        )
        return cls(settings, database, calendar, client, Dispatcher(database, client, calendar))

    def start_courier(self) -> None:
        self.courier = Courier(self.dispatcher).start()

    def after_commit(self) -> None:
        """A request changed something: deliver what it queued now rather than at the next clock tick."""
        if self.courier:
            self.courier.kick()

    def close(self) -> None:
        if self.courier:
            self.courier.stop()
        self.database.engine.dispose()
