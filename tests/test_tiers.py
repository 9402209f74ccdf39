"""The test tiers of tests/conftest.py: every test has one, and the unit tier cannot start Spark."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_unit_test_that_starts_spark_fails_naming_the_marker(request):
    assert request.node.get_closest_marker("unit")
    import kindling.pipeline.spark

    with pytest.raises(AssertionError, match="mark it pytest.mark.spark"):
        kindling.pipeline.spark.session(None)
    with pytest.raises(AssertionError, match="mark it pytest.mark.spark"):
        subprocess.run(["spark-submit", "--version"], check=False)
    # Other children run as usual.
    out = subprocess.run([sys.executable, "-c", "print('ok')"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_each_collected_test_has_exactly_one_tier(request):
    from tests.conftest import TIERS

    for item in request.session.items:
        tiers = [t for t in TIERS if item.get_closest_marker(t)]
        assert len(tiers) == 1, f"{item.nodeid} has tiers {tiers}"


@pytest.mark.spark
def test_a_spark_test_may_start_spark(spark):
    assert spark.range(3).count() == 3


def test_the_slowest_modules_named_first_exist_and_are_collected_first(request):
    from tests.conftest import ROOT, SLOWEST_FIRST

    for name in SLOWEST_FIRST:
        assert (ROOT / "tests" / name).is_file(), f"tests/conftest.py SLOWEST_FIRST names {name}, which is gone"
    # Under `-k`/`-m` or a file argument only part of the suite is collected; the order holds for that part.
    seen = list(dict.fromkeys(item.path.name for item in request.session.items))
    named = [n for n in seen if n in SLOWEST_FIRST]
    assert named == [n for n in SLOWEST_FIRST if n in seen]
    assert seen[: len(named)] == named, "the slowest modules run before the others"
