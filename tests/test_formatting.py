"""The text-table cells: a change that rounds to zero prints as +0.00, never -0.00."""

from __future__ import annotations

from kindling.serving import formatting


def test_a_change_that_rounds_to_zero_prints_without_a_minus_sign():
    rows = [
        {"account_id": "a", "score": 41.2, "change": -0.004},
        {"account_id": "b", "score": -0.0, "change": -0.0},
        {"account_id": "c", "score": 7.0, "change": -0.006},
        {"account_id": "d", "score": 7.0, "change": 0.5},
    ]
    out = formatting.format_rows(rows, "table", ["account_id", "score", "change"])
    lines = out.splitlines()[2:]
    assert "-0.00" not in out
    assert lines[0].split() == ["a", "41.20", "+0.00"]
    assert lines[1].split() == ["b", "0.00", "+0.00"]
    assert lines[2].split() == ["c", "7.00", "-0.01"]  # a real fall still shows its sign
    assert lines[3].split() == ["d", "7.00", "+0.50"]


def test_tiny_non_change_values_keep_their_precision():
    out = formatting.format_rows([{"x": -0.0004, "change": 0.0004}], "table", ["x", "change"])
    assert out.splitlines()[2].split() == ["-0.0004", "+0.00"]
