"""What a person's request came to. Refusals carry a reason code; the words are in messages/."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


DONE = Outcome(ok=True)


def refused(reason: str, **detail: Any) -> Outcome:
    return Outcome(ok=False, reason=reason, detail=detail)
