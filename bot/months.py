"""Months as the QAF counts them ("2027-01"): the unit of the audit cycle."""

import re
from datetime import date

PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def is_month(text: str) -> bool:
    return bool(PATTERN.match(text))


def shift(month: str, months: int) -> str:
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + mon - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def words(month: str) -> str:
    """'2027-01' -> 'January 2027'."""
    year, mon = (int(x) for x in month.split("-"))
    return date(year, mon, 1).strftime("%B %Y")


def of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
