"""What a running qabot process holds: settings, database, calendar, Slack client and outbox."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.calendar import Calendar
from bot.config import Settings
from bot.outbox import Courier, Dispatcher
from store import Database


class Listeners(ThreadPoolExecutor):
    """The threads that do a click's or a form's work after Slack has heard "ok" (Bolt's listener executor), counted
    so that shutting down, a test or the demo can wait until everything acknowledged has been done."""

    def __init__(self, workers: int = 10):
        super().__init__(max_workers=workers, thread_name_prefix="qabot-listener")
        self._busy = 0
        self._changed = threading.Condition()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._changed:
            self._busy += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future | None) -> None:
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()

    def settle(self, timeout: float = 30) -> bool:
        """Wait until no acknowledged work is left; False if some is still running after `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    calendar: Calendar
    client: WebClient
    dispatcher: Dispatcher
    courier: Courier | None = None
    listeners: Listeners = field(default_factory=Listeners)

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

    def settle(self, timeout: float = 30) -> bool:
        """Wait for the work of every request already acknowledged (the tests' and the demo's next step needs it)."""
        return self.listeners.settle(timeout)

    def close(self) -> None:
        # Work already acknowledged to Slack is finished before the database goes.
        self.listeners.shutdown(wait=True)
        if self.courier:
            self.courier.stop()
        self.database.engine.dispose()
