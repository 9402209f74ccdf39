"""Small Spark inputs that several test modules build the same way (imported as ``frames``)."""

from __future__ import annotations

import datetime as dt

import schemas


def accounts_frame(spark, ids, handle: str = "{}", created_at: dt.datetime | None = None, verified: bool = False):
    """An ``accounts`` DataFrame of people ``ids`` with one follower each; ``handle`` formats the id."""
    rows = [
        {
            "account_id": i,
            "handle": handle.format(i),
            "display_name": None,
            "account_type": "person",
            "created_at": created_at,
            "verified": verified,
            "followers_count": 1,
        }
        for i in ids
    ]
    return spark.createDataFrame(rows, schemas.table("accounts").spark_schema())
