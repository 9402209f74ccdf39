"""The base every layer stands on: the settings (and their generated reference), atomic file writes, failpoints, input validation."""
