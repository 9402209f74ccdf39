"""The topic taxonomy: slugs, display names and the parent/child hierarchy.

Topics of posts are taxonomy slugs; scores roll up the hierarchy through
``Taxonomy.ancestors``. The default taxonomy is the Klout topic ontology shipped in
``kindling/ingest/data/taxonomy/`` (CC BY 3.0, see ATTRIBUTION.md). A custom one is a
directory holding one ``*ontology*.csv`` (topicId, topicSlug, topicDisplayName, ...)
and one ``*edge*.csv`` (parentTopicId, parentTopicSlug, childTopicId, childTopicSlug)
in the same format; upstream spells the second column ``parrentTopicSlug`` and both
spellings are accepted.

Topic ids are not used: upstream ids overflow int64 and slugs are what posts carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DEFAULT_DIR = Path(__file__).parent / "data" / "taxonomy"
ROOT = "_ROOT_"
SUPER_SUFFIX = "-super"


@dataclass(frozen=True)
class Taxonomy:
    slugs: dict[str, str]
    """slug -> display name (every topic, excluding the root)."""
    parents: dict[str, tuple[str, ...]]
    """slug -> its direct parent slugs (the root is a parent of the "-super" categories)."""
    _ancestors: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    def __contains__(self, slug: object) -> bool:
        return slug in self.slugs

    def __len__(self) -> int:
        return len(self.slugs)

    def display_name(self, slug: str) -> str:
        return self.slugs[slug]

    def ancestors(self, slug: str) -> set[str]:
        """All transitive parents of ``slug`` (not itself, never the root).

        Raises KeyError for a slug the taxonomy does not know.
        """
        if slug not in self.slugs:
            raise KeyError(f"unknown topic slug {slug!r}")
        cached = self._ancestors.get(slug)
        if cached is None:
            seen: set[str] = set()
            stack = list(self.parents.get(slug, ()))
            while stack:  # iterative and cycle-safe
                p = stack.pop()
                if p == ROOT or p == slug or p in seen:
                    continue
                seen.add(p)
                stack.extend(self.parents.get(p, ()))
            cached = frozenset(seen)
            self._ancestors[slug] = cached
        return set(cached)

    def children_map(self) -> dict[str, tuple[str, ...]]:
        """parent slug -> sorted child slugs (the root included as a parent)."""
        out: dict[str, list[str]] = {}
        for child, ps in self.parents.items():
            for p in ps:
                out.setdefault(p, []).append(child)
        return {p: tuple(sorted(c)) for p, c in out.items()}

    def leaf_topics(self) -> list[str]:
        """Sorted slugs that are nobody's parent (the most specific topics)."""
        has_children = {p for ps in self.parents.values() for p in ps}
        return sorted(s for s in self.slugs if s not in has_children)

    def top_level(self) -> list[str]:
        """Sorted slugs directly under the root (the "-super" categories)."""
        return sorted(s for s, ps in self.parents.items() if ROOT in ps)


def _find_one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        raise FileNotFoundError(f"expected exactly one file matching {pattern!r} in {directory}, found {len(found)}")
    return found[0]


def _display_from_slug(slug: str) -> str:
    return " ".join(w.capitalize() for w in slug.split("-"))


def _read(directory: Path) -> Taxonomy:
    import pandas as pd  # here, not at the top: every `kindling` command imports this module

    onto = pd.read_csv(_find_one(directory, "*ontology*.csv"), dtype=str, keep_default_na=False)
    edges = pd.read_csv(_find_one(directory, "*edge*.csv"), dtype=str, keep_default_na=False)
    parent_col = "parrentTopicSlug" if "parrentTopicSlug" in edges.columns else "parentTopicSlug"
    for df, cols in ((onto, ["topicSlug", "topicDisplayName"]), (edges, [parent_col, "childTopicSlug"])):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"taxonomy file in {directory} lacks columns {missing}")

    slugs: dict[str, str] = {}
    for slug, name in zip(onto["topicSlug"], onto["topicDisplayName"], strict=False):
        if slug and slug != ROOT:
            slugs[slug] = name or _display_from_slug(slug)

    parents: dict[str, list[str]] = {}
    for parent, child in zip(edges[parent_col], edges["childTopicSlug"], strict=False):
        if not parent or not child or child == ROOT or parent == child:
            continue  # the root's self-edge, blanks
        parents.setdefault(child, [])
        if parent not in parents[child]:
            parents[child].append(parent)
        # Upstream edges name a few slugs the ontology file lacks (e.g. "economics").
        for s in (parent, child):
            if s != ROOT and s not in slugs:
                slugs[s] = _display_from_slug(s)

    return Taxonomy(
        slugs=dict(sorted(slugs.items())),
        parents={c: tuple(sorted(ps)) for c, ps in sorted(parents.items())},
    )


@cache
def _default() -> Taxonomy:
    return _read(DEFAULT_DIR)


def load_taxonomy(directory: str | Path | None = None) -> Taxonomy:
    """The taxonomy in ``directory``, or the shipped Klout ontology (cached) when None."""
    if directory is None:
        return _default()
    return _read(Path(directory))
