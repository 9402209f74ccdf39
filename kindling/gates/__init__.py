"""The quality gates: Great Expectations suites, the day-level policy rules, drift against the previous day, Data Docs."""
