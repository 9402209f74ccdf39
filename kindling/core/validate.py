"""Validation of user-supplied identifiers before they reach a path or a query."""

from __future__ import annotations

import datetime as _dt
import re

# Patterns are applied with fullmatch: "$" would also match before a trailing newline.
CASCADED_REASON = "account quarantined"
"""The quarantine reason of a row held only because the account it names was: conform writes it,
and the quarantine policy does not count it in the rejected share."""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NETWORK = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_RUN_ID = re.compile(r"[A-Za-z0-9_.~:+-]{1,250}")  # Airflow's allowed_run_id_pattern, and its column width
_RUN_ID_BAD = re.compile(r"[^A-Za-z0-9._-]+")


class InvalidArgument(ValueError):
    """A user-supplied value that is not allowed (named in the message)."""


def parse_date(value: str, what: str = "date") -> _dt.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidArgument(f"{what} must be YYYY-MM-DD, got {value!r}")
    try:
        return _dt.date.fromisoformat(value)
    except ValueError as e:
        raise InvalidArgument(f"{what} {value!r} is not a calendar date: {e}") from None


def network_name(value: str) -> str:
    if not isinstance(value, str) or not _NETWORK.fullmatch(value):
        raise InvalidArgument(
            f"network name {value!r} is not allowed (lower-case letters, digits, '-' and '_', at most 64)"
        )
    return value


_TOPIC = re.compile(r"[^\s\x00-\x1f\x7f]{1,100}")


def topic_slug(value: str) -> str:
    """A topic slug as the taxonomy spells it (Klout slugs include 'r/ga', 'jeopardy!').

    Slugs never reach a path (topic tables are partitioned by date and network
    only) and go into queries as bound parameters; this rejects whitespace,
    control characters and absurd lengths, and lower-cases nothing.
    """
    if not isinstance(value, str) or not _TOPIC.fullmatch(value) or value in (".", ".."):
        raise InvalidArgument(
            f"topic {value!r} is not a topic slug (1-100 characters, no spaces or control characters)"
        )
    return value


def run_id(value: str) -> str:
    """A run id as a safe folder name: Airflow's (which contain ':' and '+') with those replaced.

    Anything Airflow would not accept as a run id (a '/', whitespace, a quote, a control
    character) is refused rather than rewritten, so that '../x' cannot quietly become run 'x'
    and two different ids cannot share a folder.
    """
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise InvalidArgument(
            f"run id {value!r} is not allowed (1-250 letters, digits and '_.~:+-', as Airflow allows)"
        )
    cleaned = _RUN_ID_BAD.sub("_", value).strip("._")
    if not cleaned:
        raise InvalidArgument(f"run id {value!r} is empty once sanitised")
    return cleaned[:200]
