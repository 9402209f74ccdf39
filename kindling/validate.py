"""Validation of user-supplied identifiers before they reach a path or a query."""

from __future__ import annotations

import datetime as _dt
import re

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NETWORK = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RUN_ID_BAD = re.compile(r"[^A-Za-z0-9._-]+")


class InvalidArgument(ValueError):
    """A user-supplied value that is not allowed (named in the message)."""


def parse_date(value: str, what: str = "date") -> _dt.date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise InvalidArgument(f"{what} must be YYYY-MM-DD, got {value!r}")
    try:
        return _dt.date.fromisoformat(value)
    except ValueError as e:
        raise InvalidArgument(f"{what} {value!r} is not a calendar date: {e}") from None


def network_name(value: str) -> str:
    if not isinstance(value, str) or not _NETWORK.match(value):
        raise InvalidArgument(
            f"network name {value!r} is not allowed (lower-case letters, digits, '-' and '_', at most 64)"
        )
    return value


_TOPIC = re.compile(r"^[^\s\x00-\x1f\x7f]{1,100}$")


def topic_slug(value: str) -> str:
    """A topic slug as the taxonomy spells it (Klout slugs include 'r/ga', 'jeopardy!').

    Slugs never reach a path (topic tables are partitioned by date and network
    only) and go into queries as bound parameters; this rejects whitespace,
    control characters and absurd lengths, and lower-cases nothing.
    """
    if not isinstance(value, str) or not _TOPIC.match(value) or value in (".", ".."):
        raise InvalidArgument(f"topic {value!r} is not a topic slug (1-100 characters, no spaces or control characters)")
    return value


def run_id(value: str) -> str:
    """Turn any run id (Airflow's contain ':' and '+') into a safe folder name."""
    cleaned = _RUN_ID_BAD.sub("_", value).strip("._")
    if not cleaned:
        raise InvalidArgument(f"run id {value!r} is empty once sanitised")
    return cleaned[:200]
