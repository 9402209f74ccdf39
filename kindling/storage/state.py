"""Per-run state shared between the steps of one run (they may be separate processes).

Each step writes ``<lake>/_runs/<run_id>/state/<step>.json``; the publish step
(or a failing step) folds them into the run's row of the ``runs`` table.
"""

from __future__ import annotations

import json
from pathlib import Path

from kindling.core.settings import Settings
from kindling.storage.lake import Lake, write_atomic_bytes


def state_dir(settings: Settings, run_id: str) -> Path:
    return Lake(settings.lake).run_dir(run_id) / "state"


def save_state(settings: Settings, run_id: str, step: str, data: dict) -> None:
    write_atomic_bytes(
        state_dir(settings, run_id) / f"{step}.json", json.dumps(data, default=str, sort_keys=True).encode()
    )


def load_states(settings: Settings, run_id: str) -> dict[str, dict]:
    d = state_dir(settings, run_id)
    if not d.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(d.glob("*.json"))}
