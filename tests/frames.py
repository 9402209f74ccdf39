"""Small Spark inputs that several test modules build the same way (imported as ``frames``)."""

from __future__ import annotations

import schemas


def accounts_frame(spark, ids, handle: str = "{}"):
    """An ``accounts`` DataFrame of people ``ids`` with one follower each; ``handle`` formats the id."""
    rows = [
        {
            "account_id": i,
            "handle": handle.format(i),
            "display_name": None,
            "account_type": "person",
            "created_at": None,
            "verified": False,
            "followers_count": 1,
        }
        for i in ids
    ]
    return spark.createDataFrame(rows, schemas.table("accounts").spark_schema())
