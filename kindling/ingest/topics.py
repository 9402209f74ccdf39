"""Hashtags and provider topics -> taxonomy topics, with roll-up along the hierarchy.

A post's topics are its provider ``topics`` when it has any, otherwise its
hashtags mapped through the taxonomy. A hashtag is matched the way people
write it: case, a leading ``#`` and separators do not matter, so
``#MachineLearning``, ``machine_learning`` and ``#machinelearning`` all reach
``machine-learning`` (the key is the lower-cased letters and digits). The
editable alias file (``alias,topic`` per line; shipped default:
``kindling/ingest/data/taxonomy/aliases.csv``) adds names the slugs miss (``#ML``,
``#AI``) and wins over slugs with the same key.

Roll-up: evidence for a topic also counts for every ancestor (``astronomy``
counts toward ``science`` and ``science-and-nature-super``), so the published
topics are the matched topics plus their ancestors.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kindling.ingest.taxonomy import DEFAULT_DIR, Taxonomy, load_taxonomy

DEFAULT_ALIASES = DEFAULT_DIR / "aliases.csv"
_NOT_KEY = re.compile(r"[\W_]+", re.UNICODE)


def tag_key(text: str) -> str:
    """The matching key of a hashtag or slug: lower-cased letters and digits only."""
    return _NOT_KEY.sub("", text.strip().lstrip("#").casefold())


@dataclass(frozen=True)
class TopicMap:
    taxonomy: Taxonomy
    by_key: dict[str, str]
    """hashtag key -> topic slug."""

    def topic_for_tag(self, tag: str) -> str | None:
        return self.by_key.get(tag_key(tag)) if tag else None

    def rollup(self, slug: str) -> list[str]:
        """``slug`` and its ancestors, sorted; [] for a slug the taxonomy does not know."""
        if slug not in self.taxonomy:
            return []
        return sorted({slug, *self.taxonomy.ancestors(slug)})

    def tag_rows(self) -> list[tuple[str, str]]:
        """(hashtag key, topic) for every key, rolled up: one row per topic reached."""
        return [(k, t) for k, s in sorted(self.by_key.items()) for t in self.rollup(s)]

    def slug_rows(self) -> list[tuple[str, str]]:
        """(provider slug, topic) for every taxonomy slug, rolled up."""
        return [(s, t) for s in self.taxonomy.slugs for t in self.rollup(s)]


def read_aliases(path: Path, taxonomy: Taxonomy) -> dict[str, str]:
    """alias key -> slug; a bad line is an error naming the file and line."""
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["alias", "topic"]:
            raise ValueError(f"{path}: line 1 must be the header 'alias,topic', got {header!r}")
        for line, row in enumerate(rows, start=2):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("//"):
                continue
            if len(row) != 2:
                raise ValueError(f"{path}: line {line}: expected 'alias,topic', got {row!r}")
            alias, topic = row[0].strip(), row[1].strip()
            if topic not in taxonomy:
                raise ValueError(f"{path}: line {line}: topic {topic!r} is not in the taxonomy")
            if not tag_key(alias):
                raise ValueError(f"{path}: line {line}: alias {alias!r} has no letters or digits")
            out[tag_key(alias)] = topic
    return out


def build_topic_map(taxonomy: Taxonomy, aliases: dict[str, str]) -> TopicMap:
    by_key: dict[str, str] = {}
    # Slugs sorted so that a clash (e.g. 'flo-rida' and 'florida') always resolves the same
    # way: the slug that is its own key ('florida') wins, else the first in order.
    for slug in sorted(taxonomy.slugs, key=lambda s: (tag_key(s) != s, s)):
        by_key.setdefault(tag_key(slug), slug)
    by_key.update(aliases)
    by_key.pop("", None)
    return TopicMap(taxonomy=taxonomy, by_key=by_key)


@cache
def _load(taxonomy_dir: str, aliases: str) -> TopicMap:
    tax = load_taxonomy(taxonomy_dir or None)
    path = Path(aliases) if aliases else DEFAULT_ALIASES
    return build_topic_map(tax, read_aliases(path, tax) if path.exists() or aliases else {})


def topic_map(settings) -> TopicMap:
    """The settings' taxonomy (``taxonomy_dir``) and alias file (``topic_aliases``), cached."""
    return _load(settings.taxonomy_dir, settings.topic_aliases)
