package kindling.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

import scala.Tuple2;

/**
 * The superstep loop of Kindling's weighted, multi-slot PageRank (jobs/pagerank.py) with the
 * rank vector held whole on the driver and broadcast to the edge blocks each superstep.
 *
 * <p>Setup indexes the vertices densely (their sorted 64-bit keys), shuffles the edges as packed
 * arrays twice (into P blocks by source range, where each source's out-weight divides its
 * weights, then into P blocks by destination range) and packs each destination block as a
 * compressed sparse row matrix of its in-edges (destination offsets, source indices, K weights
 * per edge) cached as one object per partition. A superstep is then one Spark job with no shuffle: every block reads the broadcast
 * vector, multiplies, and returns its destination slice; the driver adds the fixed teleport part,
 * measures the change and broadcasts the next vector (the previous broadcast is destroyed, so
 * memory does not grow with the supersteps).
 *
 * <p>It computes the same linear map as the DataFrame engine, {@code y <- (d P)^T y + (1 - d) v}
 * per slot, and the same convergence test (each slot's L1 change of the per-group normalised
 * vector below {@code N_group * tol}), but tests it after every superstep. The driver holds
 * about four copies of an N x K vector of doubles and the blocks the edges' K weights:
 * jobs/pagerank.py picks this engine only when that fits (setting {@code pagerank_vector_max_mb}).
 */
public final class VectorPageRank {

    /** A destination range's in-edges as a CSR matrix; K weights per edge, edge-major. */
    static final class Block implements Serializable {
        private static final long serialVersionUID = 1L;
        final int lo;
        final int[] start; // (hi - lo) + 1 offsets into src / p
        final int[] src;
        final double[] p;

        Block(int lo, int[] start, int[] src, double[] p) {
            this.lo = lo;
            this.start = start;
            this.src = src;
            this.p = p;
        }

        double[] multiply(double[] y, int k) {
            int rows = start.length - 1;
            double[] out = new double[rows * k];
            if (k == 1) {
                for (int r = 0; r < rows; r++) {
                    double acc = 0.0;
                    for (int e = start[r], end = start[r + 1]; e < end; e++) {
                        acc += p[e] * y[src[e]];
                    }
                    out[r] = acc;
                }
                return out;
            }
            for (int r = 0; r < rows; r++) {
                int o = r * k;
                for (int e = start[r], end = start[r + 1]; e < end; e++) {
                    int s = src[e] * k;
                    int w = e * k;
                    for (int t = 0; t < k; t++) {
                        out[o + t] += p[w + t] * y[s + t];
                    }
                }
            }
            return out;
        }
    }

    /** Edges bound for one block: destination, source, K weights (and K normalisers before normalising). */
    static final class Chunk implements Serializable {
        private static final long serialVersionUID = 1L;
        int size;
        int[] dst = new int[16];
        int[] src = new int[16];
        double[] p;
        double[] norm;

        Chunk(int k, boolean withNorm) {
            p = new double[16 * k];
            norm = withNorm ? new double[16 * k] : null;
        }

        void add(int d, int s, double[] w, double[] nw) {
            int k = w.length;
            if (size == dst.length) {
                dst = Arrays.copyOf(dst, size * 2);
                src = Arrays.copyOf(src, size * 2);
                p = Arrays.copyOf(p, size * 2 * k);
                if (norm != null) norm = Arrays.copyOf(norm, size * 2 * k);
            }
            dst[size] = d;
            src[size] = s;
            System.arraycopy(w, 0, p, size * k, k);
            if (norm != null) System.arraycopy(nw, 0, norm, size * k, k);
            size++;
        }
    }

    /** Key i goes to partition i (the key is already the block number). */
    static final class BlockPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int n;

        BlockPartitioner(int n) {
            this.n = n;
        }

        @Override
        public int numPartitions() {
            return n;
        }

        @Override
        public int getPartition(Object key) {
            return (Integer) key;
        }
    }

    /** The longest Java array (a few words below Integer.MAX_VALUE on HotSpot). */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private final SparkSession spark;
    private final JavaSparkContext jsc;
    private final int k;
    private final int n;
    private final int groups;
    private final long[] keys;
    private final int[] grp;
    private final long[] groupSize;
    private final double tol;
    private final JavaRDD<Block> blocks;
    private final double[] fixed;
    private final boolean hasTeleport;
    private final int[] slotCounts;
    private double[] y;
    private double[] total;
    private double[] err;
    private int iterations;
    private boolean converged;
    private Broadcast<long[]> keysB; // kept while the blocks may be recomputed

    /** First index of block b when n vertices are cut into parts ranges. */
    static int lo(int b, int n, int parts) {
        return (int) (((long) b * n + parts - 1) / parts);
    }

    /** The block of vertex index i (the inverse of {@link #lo}). */
    static int blockOf(int i, int n, int parts) {
        return (int) ((long) i * parts / n);
    }

    /**
     * @param verts id (long), grp (int, 0 .. groups-1): every vertex, ids unique
     * @param edges src (long), dst (long), w0 .. w{K-1} (double, >= 0), then when {@code hasN}
     *              n0 .. n{K-1}: the weight the edge counts for in its source's out-weight (a
     *              smaller n counts as w). Repeated pairs add up; edges to or from ids outside
     *              {@code verts} are dropped.
     * @param tele  id (long), len (int: the length of the vertex's teleport array), v0 .. v{K-1}
     *              (double, >= 0): the teleport weights, normalised here per group and slot
     */
    public VectorPageRank(Dataset<Row> verts, Dataset<Row> edges, boolean hasN, Dataset<Row> tele, int k,
                          int groups, double damping, double tol, int parts) {
        this.spark = verts.sparkSession();
        this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.k = k;
        this.groups = groups;
        this.tol = tol;

        // The vertices: sorted keys (a vertex's index is its key's rank) and their groups.
        List<Tuple2<long[], int[]>> pieces = rows(verts.selectExpr("CAST(id AS LONG)", "CAST(grp AS INT)"))
            .mapPartitions(VectorPageRank::packVertices).collect();
        int count = 0;
        for (Tuple2<long[], int[]> t : pieces) count += t._1().length;
        long[] ids = new long[count];
        int[] gs = new int[count];
        int at = 0;
        for (Tuple2<long[], int[]> t : pieces) {
            System.arraycopy(t._1(), 0, ids, at, t._1().length);
            System.arraycopy(t._2(), 0, gs, at, t._2().length);
            at += t._1().length;
        }
        n = count;
        if (n == 0) throw new IllegalArgumentException("PageRank over an empty vertex set");
        if ((long) n * k > MAX_ARRAY) {
            throw new IllegalArgumentException(n + " vertices x " + k + " slots is more than one Java array holds: "
                + "use the dataframe engine (pagerank_engine)");
        }
        keys = ids.clone();
        Arrays.sort(keys);
        grp = new int[n];
        if (groups > 1) {
            for (int i = 0; i < n; i++) grp[Arrays.binarySearch(keys, ids[i])] = gs[i];
        }
        groupSize = new long[groups];
        for (int g : grp) groupSize[g]++;

        // The transition matrix d * P, built in two shuffles of packed arrays (no row shuffle):
        // the edges by source block, where each source's out-weight is summed and every weight
        // divided by it, then by destination block, where each block becomes a CSR matrix.
        final int kk = k, nn = n, pp = Math.max(1, Math.min(parts, n));
        final boolean withN = hasN;
        final double d = damping;
        final Broadcast<long[]> kb = jsc.broadcast(keys);
        keysB = kb;
        blocks = rows(edges)
            .mapPartitionsToPair(it -> bySource(it, kb.value(), kk, withN, nn, pp))
            .partitionBy(new BlockPartitioner(pp))
            .mapPartitionsWithIndex((b, it) -> normalise(b, it, kk, d, nn, pp), true)
            .mapPartitionsToPair(it -> it)
            .partitionBy(new BlockPartitioner(pp))
            .mapPartitionsWithIndex((b, it) -> pack(b, it, kk, nn, pp), true)
            .persist(StorageLevel.MEMORY_AND_DISK());
        blocks.count();

        // The teleport vector: its non-zero entries, normalised per group and slot; each group's
        // slot count is the longest teleport array among its vertices.
        List<Teleport> tv = rows(tele).mapPartitions(it -> teleport(it, kb.value(), kk)).collect();
        double[] v = new double[n * k];
        slotCounts = new int[groups];
        for (Teleport t : tv) {
            for (int i = 0; i < t.m; i++) v[t.at[i]] += t.val[i];
            for (int i = 0; i < t.rows; i++) slotCounts[grp[t.vertex[i]]] = Math.max(slotCounts[grp[t.vertex[i]]], t.len[i]);
        }
        double[] vsum = sums(v);
        for (int i = 0; i < n; i++) {
            int o = grp[i] * k;
            for (int t = 0; t < k; t++) v[i * k + t] = vsum[o + t] > 0 ? v[i * k + t] / vsum[o + t] : 0.0;
        }
        boolean any = false;
        for (double x : vsum) any |= x > 0;
        hasTeleport = any;
        fixed = new double[n * k];
        for (int i = 0; i < v.length; i++) fixed[i] = (1.0 - damping) * v[i];
        y = v;
        total = sums(y);
        err = new double[groups * k];
    }

    /** A DataFrame's rows as Spark's internal rows: no conversion to external Row objects. */
    private static JavaRDD<InternalRow> rows(Dataset<Row> df) {
        return df.queryExecution().toRdd().toJavaRDD();
    }

    private static Iterator<Tuple2<long[], int[]>> packVertices(Iterator<InternalRow> rows) {
        long[] ids = new long[1024];
        int[] gs = new int[1024];
        int m = 0;
        while (rows.hasNext()) {
            InternalRow r = rows.next();
            if (m == ids.length) {
                ids = Arrays.copyOf(ids, m * 2);
                gs = Arrays.copyOf(gs, m * 2);
            }
            ids[m] = r.getLong(0);
            gs[m] = r.getInt(1);
            m++;
        }
        List<Tuple2<long[], int[]>> out = new ArrayList<>(1);
        out.add(new Tuple2<>(Arrays.copyOf(ids, m), Arrays.copyOf(gs, m)));
        return out.iterator();
    }

    /** Edges of one input partition, by source block: (dst, src, w, norm) with indices for keys. */
    private static Iterator<Tuple2<Integer, Chunk>> bySource(Iterator<InternalRow> rows, long[] keys, int k,
                                                             boolean hasN, int n, int parts) {
        Chunk[] chunks = new Chunk[parts];
        double[] w = new double[k];
        double[] norm = new double[k];
        while (rows.hasNext()) {
            InternalRow r = rows.next();
            int s = Arrays.binarySearch(keys, r.getLong(0));
            int d = Arrays.binarySearch(keys, r.getLong(1));
            if (s < 0 || d < 0) continue; // an edge to or from a vertex outside the set
            for (int t = 0; t < k; t++) {
                w[t] = r.getDouble(2 + t);
                norm[t] = hasN ? Math.max(w[t], r.getDouble(2 + k + t)) : w[t];
            }
            int b = blockOf(s, n, parts);
            if (chunks[b] == null) chunks[b] = new Chunk(k, hasN); // without n, the norm is w itself
            chunks[b].add(d, s, w, norm);
        }
        List<Tuple2<Integer, Chunk>> out = new ArrayList<>();
        for (int b = 0; b < parts; b++) {
            if (chunks[b] != null) out.add(new Tuple2<>(b, chunks[b]));
        }
        return out.iterator();
    }

    /** One source block: out-weights summed, weights divided by them (times d), re-bucketed by destination block. */
    private static Iterator<Tuple2<Integer, Chunk>> normalise(int b, Iterator<Tuple2<Integer, Chunk>> it, int k,
                                                              double damping, int n, int parts) {
        int lo = lo(b, n, parts), hi = lo(b + 1, n, parts);
        List<Chunk> chunks = new ArrayList<>();
        double[] out = new double[(hi - lo) * k];
        while (it.hasNext()) {
            Chunk c = it.next()._2();
            chunks.add(c);
            double[] norm = c.norm != null ? c.norm : c.p;
            for (int i = 0; i < c.size; i++) {
                int o = (c.src[i] - lo) * k;
                for (int t = 0; t < k; t++) out[o + t] += norm[i * k + t];
            }
        }
        Chunk[] byDst = new Chunk[parts];
        double[] p = new double[k];
        for (Chunk c : chunks) {
            for (int i = 0; i < c.size; i++) {
                int o = (c.src[i] - lo) * k;
                boolean any = false;
                for (int t = 0; t < k; t++) {
                    p[t] = out[o + t] > 0 ? damping * c.p[i * k + t] / out[o + t] : 0.0;
                    any |= p[t] != 0.0;
                }
                if (!any) continue; // carries nothing in any slot
                int db = blockOf(c.dst[i], n, parts);
                if (byDst[db] == null) byDst[db] = new Chunk(k, false);
                byDst[db].add(c.dst[i], c.src[i], p, null);
            }
        }
        List<Tuple2<Integer, Chunk>> res = new ArrayList<>();
        for (int d = 0; d < parts; d++) {
            if (byDst[d] != null) res.add(new Tuple2<>(d, byDst[d]));
        }
        return res.iterator();
    }

    /** One destination block as a CSR matrix of its in-edges. */
    private static Iterator<Block> pack(int b, Iterator<Tuple2<Integer, Chunk>> it, int k, int n, int parts) {
        int lo = lo(b, n, parts), hi = lo(b + 1, n, parts);
        List<Chunk> chunks = new ArrayList<>();
        int[] start = new int[hi - lo + 1];
        int m = 0;
        while (it.hasNext()) {
            Chunk c = it.next()._2();
            chunks.add(c);
            for (int i = 0; i < c.size; i++) start[c.dst[i] - lo + 1]++;
            m += c.size;
        }
        for (int r = 0; r < hi - lo; r++) start[r + 1] += start[r];
        if ((long) m * k > MAX_ARRAY) {
            throw new IllegalArgumentException("an edge block of " + m + " edges x " + k + " slots is more than one "
                + "Java array holds: raise spark.sql.shuffle.partitions (the number of blocks)");
        }
        int[] next = Arrays.copyOf(start, hi - lo);
        int[] src = new int[m];
        double[] p = new double[m * k];
        for (Chunk c : chunks) {
            for (int i = 0; i < c.size; i++) {
                int e = next[c.dst[i] - lo]++;
                src[e] = c.src[i];
                System.arraycopy(c.p, i * k, p, e * k, k);
            }
        }
        List<Block> out = new ArrayList<>(1);
        out.add(new Block(lo, start, src, p));
        return out.iterator();
    }

    /** Teleport rows of one partition: the non-zero weights, and each vertex's array length. */
    static final class Teleport implements Serializable {
        private static final long serialVersionUID = 1L;
        int m;
        int[] at = new int[1024]; // index * K + slot
        double[] val = new double[1024];
        int rows;
        int[] vertex = new int[1024];
        int[] len = new int[1024];
    }

    private static Iterator<Teleport> teleport(Iterator<InternalRow> it, long[] keys, int k) {
        Teleport t = new Teleport();
        while (it.hasNext()) {
            InternalRow r = it.next();
            int i = Arrays.binarySearch(keys, r.getLong(0));
            if (i < 0) continue; // not a vertex
            if (t.rows == t.vertex.length) {
                t.vertex = Arrays.copyOf(t.vertex, t.rows * 2);
                t.len = Arrays.copyOf(t.len, t.rows * 2);
            }
            t.vertex[t.rows] = i;
            t.len[t.rows++] = r.getInt(1);
            for (int s = 0; s < k; s++) {
                double x = r.getDouble(2 + s);
                if (x == 0.0) continue;
                if (t.m == t.at.length) {
                    t.at = Arrays.copyOf(t.at, t.m * 2);
                    t.val = Arrays.copyOf(t.val, t.m * 2);
                }
                t.at[t.m] = i * k + s;
                t.val[t.m++] = x;
            }
        }
        List<Teleport> out = new ArrayList<>(1);
        out.add(t);
        return out.iterator();
    }

    private double[] sums(double[] x) {
        double[] s = new double[groups * k];
        for (int i = 0; i < n; i++) {
            int o = grp[i] * k;
            for (int t = 0; t < k; t++) s[o + t] += x[i * k + t];
        }
        return s;
    }

    /** Run up to {@code steps} more supersteps, stopping at convergence; returns the supersteps so far. */
    public int run(int steps) {
        for (int s = 0; s < steps && !converged; s++) superstep();
        return iterations;
    }

    private void superstep() {
        final Broadcast<double[]> yb = jsc.broadcast(y);
        final int kk = k;
        List<Tuple2<Integer, double[]>> slices;
        try {
            slices = blocks.map(b -> new Tuple2<>(b.lo, b.multiply(yb.value(), kk))).collect();
        } finally {
            // Blocking, so that each superstep's copy is gone before the next one (memory stays
            // flat) and the ContextCleaner finds nothing left to remove (an asynchronous destroy
            // raced with it and logged "Error cleaning broadcast").
            yb.destroy(true);
        }
        double[] next = fixed.clone();
        for (Tuple2<Integer, double[]> sl : slices) {
            double[] part = sl._2();
            int o = sl._1() * k;
            for (int i = 0; i < part.length; i++) next[o + i] += part[i];
        }
        double[] nextTotal = sums(next);
        double[] change = new double[groups * k];
        for (int i = 0; i < n; i++) {
            int g = grp[i] * k;
            for (int t = 0; t < k; t++) {
                double a = nextTotal[g + t] > 0 ? next[i * k + t] / nextTotal[g + t] : 0.0;
                double b = total[g + t] > 0 ? y[i * k + t] / total[g + t] : 0.0;
                change[g + t] += Math.abs(a - b);
            }
        }
        y = next;
        total = nextTotal;
        err = change;
        iterations++;
        boolean done = true;
        for (int g = 0; g < groups && done; g++) {
            if (groupSize[g] == 0) continue;
            for (int t = 0; t < k; t++) {
                if (!(change[g * k + t] < groupSize[g] * tol)) {
                    done = false;
                    break;
                }
            }
        }
        converged = done;
    }

    /** False when every slot's teleport weights are zero in every group. */
    public boolean hasTeleport() {
        return hasTeleport;
    }

    /** Each group's slot count: the longest teleport array among its vertices (0 without one). */
    public int[] slotCounts() {
        return slotCounts.clone();
    }

    public int iterations() {
        return iterations;
    }

    public boolean converged() {
        return converged;
    }

    /** Each group's L1 change per slot over the last superstep, flattened group by group. */
    public double[] lastError() {
        return err.clone();
    }

    /** Each group's sum per slot of the current (unnormalised) vector, flattened group by group. */
    public double[] totals() {
        return total.clone();
    }

    /**
     * The current vector as a DataFrame: id, grp, y0 .. y{K-1} (unnormalised), one row per vertex
     * with a non-zero value in some slot, materialised (a local checkpoint: no lineage back to
     * the broadcasts, which are gone when this returns).
     */
    public Dataset<Row> state() {
        final Broadcast<long[]> kb = keysB; // the setup's, released by close()
        final Broadcast<int[]> gb = jsc.broadcast(grp);
        final Broadcast<double[]> yb = jsc.broadcast(y);
        final int kk = k, nn = n, pp = blocks.getNumPartitions();
        List<Integer> ids = new ArrayList<>();
        for (int b = 0; b < pp; b++) ids.add(b);
        JavaRDD<Row> rows = jsc.parallelize(ids, pp).flatMap(b -> {
            long[] ks = kb.value();
            int[] gs = gb.value();
            double[] yy = yb.value();
            List<Row> out = new ArrayList<>();
            for (int i = lo(b, nn, pp), hi = lo(b + 1, nn, pp); i < hi; i++) {
                boolean any = false;
                Object[] vals = new Object[2 + kk];
                vals[0] = ks[i];
                vals[1] = gs[i];
                for (int t = 0; t < kk; t++) {
                    double x = yy[i * kk + t];
                    any |= x != 0.0;
                    vals[2 + t] = x;
                }
                if (any) out.add(RowFactory.create(vals));
            }
            return out.iterator();
        });
        List<StructField> fields = new ArrayList<>();
        fields.add(DataTypes.createStructField("id", DataTypes.LongType, false));
        fields.add(DataTypes.createStructField("grp", DataTypes.IntegerType, false));
        for (int t = 0; t < k; t++) fields.add(DataTypes.createStructField("y" + t, DataTypes.DoubleType, false));
        try {
            return spark.createDataFrame(rows, DataTypes.createStructType(fields)).localCheckpoint(true);
        } finally {
            gb.destroy(true);
            yb.destroy(true);
        }
    }

    /** Release the cached edge blocks and the vertex keys' broadcast. */
    public void close() {
        if (keysB == null) return;
        blocks.unpersist(false);
        keysB.destroy(true);
        keysB = null;
    }
}
