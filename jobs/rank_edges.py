"""``kindling rank``: weighted PageRank of a plain edge list, through the pipeline's own code path.

Reads ``src,dst,weight`` (CSV with a header, or Parquet), ranks with
:func:`jobs.pagerank.pagerank` and writes ``id,pagerank`` (summing to 1) as one
CSV or Parquet file, chosen by the output's extension.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.pagerank import pagerank
from kindling.core.settings import DEFAULTS


def rank_edges(
    spark: SparkSession,
    edges_path: str,
    out: str,
    damping: float = DEFAULTS.damping,
    tol: float = DEFAULTS.tol,
    max_iter: int = DEFAULTS.max_iter,
    engine: str = DEFAULTS.pagerank_engine,
    vector_max_mb: float = DEFAULTS.pagerank_vector_max_mb,
) -> dict:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    src = Path(edges_path)
    if not src.exists():
        raise FileNotFoundError(f"edge list {src} does not exist")
    if src.suffix == ".parquet" or src.is_dir():
        e = spark.read.parquet(str(src))
    else:
        e = spark.read.option("header", True).csv(str(src))
    missing = [c for c in ("src", "dst", "weight") if c not in e.columns]
    if missing:
        raise ValueError(f"{src}: missing column(s) {', '.join(missing)} (need src,dst,weight)")
    e = e.select(F.col("src").cast("string"), F.col("dst").cast("string"), F.col("weight").try_cast("double"))
    bad = (
        e.where(F.col("src").isNull() | F.col("dst").isNull() | F.col("weight").isNull() | (F.col("weight") < 0))
        .limit(1)
        .collect()
    )
    if bad:
        raise ValueError(
            f"{src}: a row with a missing id or a missing, non-numeric or negative weight: {bad[0].asDict()}"
        )
    v = e.select(F.col("src").alias("id")).union(e.select(F.col("dst").alias("id"))).distinct()
    res = pagerank(v, e, damping=damping, tol=tol, max_iter=max_iter, engine=engine, vector_max_mb=vector_max_mb)
    rows = res.ranks.select("id", "pagerank").orderBy(F.col("pagerank").desc(), "id").toArrow()
    res.unpersist()
    tbl = pa.table({"id": rows.column("id"), "pagerank": rows.column("pagerank")})
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if out_path.suffix == ".csv":
        pcsv.write_csv(tbl, str(out_path))
    else:
        pq.write_table(tbl, str(out_path))
    return {"vertices": tbl.num_rows, "iterations": res.iterations, "converged": res.converged}
