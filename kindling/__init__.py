"""Kindling's runtime, one subpackage per concern (imports go downwards only; see pyproject.toml):

- ``cli``: the ``kindling`` command line.
- ``pipeline``: the daily run's steps (shared by Airflow and ``kindling run``), backfill, Spark sessions and spark-submit, the JVM jars.
- ``serving``: queries over the published tables, their formatting, the HTML report, graph exports.
- ``gates``: the Great Expectations suites, the day-level policy, drift, Data Docs.
- ``ingest``: the source of daily snapshots, the edge-list importer, the topic taxonomy and hashtags.
- ``storage``: the lake and publishing, the runs table, step state, date locks.
- ``core``: the settings, atomic file writes, failpoints, validation of user input.

The Spark jobs are in ``jobs/``, the table schemas in ``schemas/``, the developer tools in ``kindling_dev/``.
"""
