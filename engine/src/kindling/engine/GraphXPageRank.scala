package kindling.engine

import org.apache.spark.graphframes.graphx.{Edge, EdgeContext, EdgeRDD, TripletFields, VertexId, VertexRDD}
import org.apache.spark.graphframes.graphx.impl.{EdgeRDDImpl, GraphImpl, VertexRDDImpl}
import org.apache.spark.HashPartitioner
import org.apache.spark.rdd.RDD
import org.apache.spark.sql.{DataFrame, Row}
import org.apache.spark.sql.types.{DoubleType, IntegerType, LongType, StructField, StructType}
import org.apache.spark.storage.StorageLevel

/** What a vertex keeps and never ships: its group code and its teleport weights (one per slot). */
final case class GraphXBase(grp: Int, tele: Array[Double])

/**
 * The distributed PageRank engine of jobs/pagerank.py (``engine="graphframes"``): the supersteps of
 * the weighted, multi-slot map
 *
 * {{{ y(v) <- (1 - d) * tele(v) + sum over edges u -> v of y(u) * p(u -> v) }}}
 *
 * on GraphFrames' GraphX module (``org.apache.spark.graphframes.graphx``), every slot in one
 * message: a vertex's attribute is its K slots, an edge's its K transition weights
 * ``p = d * w / out(u)`` (computed here, from the weights), and a superstep is one ``aggregateMessages`` (the source's slots times the
 * edge's, summed at the destination, pre-aggregated inside each edge partition) followed by a zip
 * join with the fixed part. Groups (networks) share the graph: edges never cross them.
 *
 * The inputs come prepared by jobs/pagerank.py: ``verts`` is ``id: long, grp: int, v0 .. v{K-1}``
 * (every vertex, its teleport normalised within its group, zeros where it has none) and ``edgesIn``
 * is ``src: long, dst: long, w0 .. w{K-1}`` and, with ``hasN``, ``n0 .. n{K-1}`` (weights >= 0;
 * both ends among ``verts``; a repeated pair is two edges, and capped, each is capped alone).
 *
 * After each {@link #run} the engine reads each group's and slot's total and the L1 change of the
 * normalised slot over the last superstep; it has converged when every change is below
 * ``N_group * tol`` (networkx's rule). {@link #cap} turns on per-group, per-slot caps: a message is
 * then at most ``share * y(v)`` of the destination's current value, so from the uncapped fixed
 * point the iterates decrease to the capped map's greatest fixed point (see jobs/sparks.py).
 *
 * Every superstep's vertices are cached and locally checkpointed, so the lineage stays one
 * superstep deep however many run; the edges are built once and cached.
 */
final class GraphXPageRank(verts: DataFrame, edgesIn: DataFrame, hasN: Boolean, k: Int, groups: Int, d: Double,
                           tol: Double, parts: Int) {
  import GraphXPageRank._

  private val spark = verts.sparkSession
  private val level = StorageLevel.MEMORY_AND_DISK

  // The edges as given: attribute ``w0 .. w{K-1}`` and, with ``hasN``, ``n0 .. n{K-1}``.
  private val raw: EdgeRDDImpl[Array[Double], Array[Double]] = {
    val width = if (hasN) 2 * k else k
    val rows: RDD[Edge[Array[Double]]] = edgesIn.rdd.map { r =>
      val a = new Array[Double](width)
      var i = 0
      while (i < width) { a(i) = r.getDouble(2 + i); i += 1 }
      Edge(r.getLong(0), r.getLong(1), a)
    }
    // the edges stay where they are (no shuffle), in at most ``parts`` partitions
    val e = EdgeRDD.fromEdges[Array[Double], Array[Double]](if (rows.getNumPartitions > parts) rows.coalesce(parts) else rows)
    e.persist(level)
    e
  }

  private val base: VertexRDD[GraphXBase] = {
    val kk = k
    val rows: RDD[(VertexId, GraphXBase)] = verts.rdd.map { r =>
      val v = new Array[Double](kk)
      var i = 0
      while (i < kk) { v(i) = r.getDouble(2 + i); i += 1 }
      (r.getLong(0), GraphXBase(r.getInt(1), v))
    }
    val b = VertexRDD(rows.partitionBy(new HashPartitioner(parts)), raw, GraphXBase(-1, new Array[Double](kk)))
    b.persist(level)
    b
  }

  // The transition matrix: ``p = d * w / out(src)`` per slot, where a source's out-weight is the
  // sum of its edges' ``max(n, w)`` (``w`` without ``n``), summed by one aggregateMessages to the
  // sources (a shuffle of per-vertex sums, not of the edges); then, at ``p(K)``, the edge's group
  // (edges never cross groups), by which capped messages read their share.
  private val edges: EdgeRDDImpl[Array[Double], Array[Double]] = {
    val kk = k
    val dd = d
    val withN = hasN
    val grp = base.mapValues((b: GraphXBase) => Array(b.grp.toDouble))
    val out = GraphImpl.fromExistingRDDs(grp, raw).aggregateMessages[Array[Double]](ctx => {
      val a = ctx.attr
      val o = new Array[Double](kk)
      var i = 0
      while (i < kk) { o(i) = if (withN) math.max(a(kk + i), a(i)) else a(i); i += 1 }
      ctx.sendToSrc(o)
    }, addInto, TripletFields.None)
    // each vertex: its group, then its out-weight per slot
    val srcInfo = base.leftZipJoin(out)((_: VertexId, b: GraphXBase, o: Option[Array[Double]]) =>
      b.grp.toDouble +: o.getOrElse(new Array[Double](kk)))
    val e = GraphImpl.fromExistingRDDs(srcInfo, raw).mapTriplets(t => {
      val a = t.attr
      val info = t.srcAttr
      val p = new Array[Double](kk + 1)
      var i = 0
      while (i < kk) { p(i) = div(dd * a(i), info(1 + i)); i += 1 }
      p(kk) = info(0)
      p
    }, TripletFields.Src).edges.asInstanceOf[EdgeRDDImpl[Array[Double], Array[Double]]]
    e.persist(level)
    e.count()
    raw.unpersist(blocking = false)
    e
  }

  /** Vertices per group: the convergence threshold is ``sizes(g) * tol``. */
  private val sizes: Array[Long] = {
    val gs = groups
    base.values.aggregate(new Array[Long](gs))((acc, b) => { acc(b.grp) += 1; acc }, (a, b) => { var i = 0; while (i < gs) { a(i) += b(i); i += 1 }; a })
  }

  // The state: the teleport vector itself to begin with.
  private var y: VertexRDD[Array[Double]] = keep(base.mapValues((b: GraphXBase) => b.tele.clone()))
  private var caps: Array[Double] = null
  private var done = 0
  private var isConverged = false
  private var errors = new Array[Double](groups * k)
  private var sums = totalsOf(y)

  def run(steps: Int): Int = {
    var prev: VertexRDD[Array[Double]] = null
    var s = 0
    while (s < steps) {
      val next = superstep(y)
      if (prev != null) prev.unpersist(blocking = false)
      prev = y
      y = next
      done += 1
      s += 1
    }
    if (prev != null) {
      check(prev)
      prev.unpersist(blocking = false)
    }
    done
  }

  /** Caps on from now (``shares``: group code * K + slot; 0: uncapped); the next runs converge again. */
  def cap(shares: Array[Double]): Unit = {
    caps = if (shares.exists(_ > 0)) shares.clone() else null
    isConverged = false
  }

  def converged(): Boolean = isConverged
  def iterations(): Int = done
  def lastError(): Array[Double] = errors.clone()
  def totals(): Array[Double] = sums.clone()

  /** ``id, grp, y0 .. y{K-1}``: the unnormalised state (divide by {@link #totals}), vertices with any rank. */
  def state(): DataFrame = {
    val kk = k
    val rows: RDD[Row] = base.innerZipJoin(y)((_: VertexId, b: GraphXBase, a: Array[Double]) => (b.grp, a))
      .flatMap { case (id, (g, a)) =>
        if (a.exists(_ != 0.0)) {
          val vals = new Array[Any](2 + kk)
          vals(0) = id
          vals(1) = g
          var i = 0
          while (i < kk) { vals(2 + i) = a(i); i += 1 }
          Iterator.single(Row.fromSeq(vals.toIndexedSeq))
        } else Iterator.empty
      }
    val fields = Seq(StructField("id", LongType, nullable = false), StructField("grp", IntegerType, nullable = false)) ++
      (0 until k).map(i => StructField(s"y$i", DoubleType, nullable = false))
    spark.createDataFrame(rows, StructType(fields))
  }

  def close(): Unit = {
    y.unpersist(blocking = false)
    base.unpersist(blocking = false)
    edges.unpersist(blocking = false)
  }

  private def superstep(cur: VertexRDD[Array[Double]]): VertexRDD[Array[Double]] = {
    val kk = k
    val rest = 1.0 - d
    val shares = caps
    val send: EdgeContext[Array[Double], Array[Double], Array[Double]] => Unit = ctx => {
      val ys = ctx.srcAttr
      val p = ctx.attr
      val m = new Array[Double](kk)
      var any = false
      var i = 0
      while (i < kk) {
        val x = ys(i) * p(i)
        m(i) = x
        any |= x != 0.0
        i += 1
      }
      if (shares != null) {
        val g = p(kk).toInt * kk
        val yd = ctx.dstAttr
        i = 0
        while (i < kk) {
          val s = shares(g + i)
          if (s > 0 && m(i) > s * yd(i)) m(i) = s * yd(i)
          i += 1
        }
      }
      if (any) ctx.sendToDst(m)
    }
    val fields = if (shares == null) TripletFields.Src else TripletFields.All
    val msgs = GraphImpl.fromExistingRDDs(cur, edges).aggregateMessages[Array[Double]](send, addInto, fields)
    keep(base.leftZipJoin(msgs)((_: VertexId, b: GraphXBase, m: Option[Array[Double]]) => {
      val out = new Array[Double](kk)
      var i = 0
      while (i < kk) { out(i) = rest * b.tele(i); i += 1 }
      m.foreach(a => addInto(out, a))
      out
    }))
  }

  /** Totals and each slot's L1 change of the normalised state from ``prev`` to ``y``. */
  private def check(prev: VertexRDD[Array[Double]]): Unit = {
    val kk = k
    val gs = groups
    val before = totalsOf(prev)
    sums = totalsOf(y)
    val now = sums
    val pairs = base.innerZipJoin(y.innerZipJoin(prev)((_: VertexId, a: Array[Double], b: Array[Double]) => (a, b)))(
      (_: VertexId, b: GraphXBase, ab: (Array[Double], Array[Double])) => (b.grp, ab._1, ab._2))
    errors = pairs.values.aggregate(new Array[Double](gs * kk))((acc, t) => {
      val (g, a, b) = t
      var i = 0
      while (i < kk) {
        val j = g * kk + i
        acc(j) += math.abs(div(a(i), now(j)) - div(b(i), before(j)))
        i += 1
      }
      acc
    }, addInto)
    isConverged = (0 until gs * kk).forall(j => errors(j) < sizes(j / kk) * tol)
  }

  private def totalsOf(v: VertexRDD[Array[Double]]): Array[Double] = {
    val kk = k
    val gs = groups
    base.innerZipJoin(v)((_: VertexId, b: GraphXBase, a: Array[Double]) => (b.grp, a)).values
      .aggregate(new Array[Double](gs * kk))((acc, t) => {
        var i = 0
        while (i < kk) { acc(t._1 * kk + i) += t._2(i); i += 1 }
        acc
      }, addInto)
  }
}

object GraphXPageRank {
  /** ``a += b`` slot by slot; returns ``a`` (a message is fresh per edge, so merging into it is safe). */
  val addInto: (Array[Double], Array[Double]) => Array[Double] = (a, b) => {
    var i = 0
    while (i < a.length) { a(i) += b(i); i += 1 }
    a
  }

  private def div(a: Double, b: Double): Double = if (b > 0) a / b else 0.0

  /** Cached, locally checkpointed (lineage one superstep deep) and materialised. */
  private def keep[T](v: VertexRDD[T]): VertexRDD[T] = {
    v.persist(StorageLevel.MEMORY_AND_DISK)
    v.asInstanceOf[VertexRDDImpl[T]].partitionsRDD.localCheckpoint()
    v.count()
    v
  }
}
