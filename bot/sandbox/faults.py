"""Faults injected into the stand-in's answers: which call fails next, and how the failure looks on the wire.

Kept apart from `workspace`, which models Slack answering: this is the test harness making it fail, so the
outbox's retries can be exercised.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.sandbox.server import Answer


@dataclass
class Fault:
    method: str | None
    status: int
    retry_after: int | None
    delay: float
    times: int


class Faults:
    """The faults still to come. Not locked itself: SlackStandIn holds its lock around every use."""

    def __init__(self) -> None:
        self._queued: list[Fault] = []
        self._random: tuple[float, random.Random, list[Fault]] | None = None

    def queue(self, fault: Fault) -> None:
        self._queued.append(fault)

    def randomly(self, rate: float, seed: int, statuses: Iterable[int], delay: float | None) -> None:
        kinds = [Fault(None, status, None, 0, 1) for status in statuses]
        if delay:
            kinds.append(Fault(None, 200, None, delay, 1))
        self._random = (rate, random.Random(seed), kinds)

    def take(self, method: str) -> Fault | None:
        for fault in self._queued:
            if fault.method in (None, method):
                fault.times -= 1
                if fault.times <= 0:
                    self._queued.remove(fault)
                return fault
        if self._random is not None:
            rate, rng, kinds = self._random
            if rng.random() < rate:
                return rng.choice(kinds)
        return None


def http_fault(fault: Fault) -> Answer:
    headers = {}
    if fault.status == 429 or fault.retry_after is not None:
        headers["Retry-After"] = str(1 if fault.retry_after is None else fault.retry_after)
    if fault.status == 429:
        return 429, {**headers, "Content-Type": "application/json"}, b'{"ok":false,"error":"ratelimited"}', 0
    # Errors from the gateways in front of Slack come as HTML pages, not as the API's JSON.
    page = f"<html><body><h1>{fault.status} {HTTPStatus(fault.status).phrase}</h1></body></html>"
    return fault.status, {**headers, "Content-Type": "text/html"}, page.encode(), 0
