"""The lake: its layout and publishing (write-audit-publish), the runs table, step state between processes, date locks."""
