package kindling.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.MapData;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

import scala.Tuple2;

/**
 * The superstep loop of Kindling's weighted, multi-slot PageRank (jobs/pagerank.py) with the
 * rank vector held whole on the driver and broadcast to the edge blocks each superstep.
 *
 * <p>Setup indexes the vertices densely (their sorted 64-bit keys) and shuffles the edges as
 * packed arrays twice: into P blocks by source range, where each source's out-weight is summed,
 * then into P blocks by destination range, where each block becomes a compressed sparse row
 * matrix of its in-edges, cached as one object per partition. A superstep is then one Spark job
 * with no shuffle: every block reads the broadcast vector, multiplies, and returns its
 * destination slice; the driver adds the fixed teleport part, measures the change and broadcasts
 * the next vector (the previous broadcast is destroyed, so memory does not grow with the
 * supersteps).
 *
 * <p>The edges' K slot weights come in one of two forms:
 * <ul>
 * <li><b>dense</b> ({@code scale == null}): K weights per edge. Each is divided by its source's
 *     out-weight in setup, so a block holds {@code d * P} itself, 8 x K bytes per edge;</li>
 * <li><b>factored</b> ({@code scale != null}): one base weight per edge and a map of the slots
 *     whose multiplier differs from {@code scale[t]}, so slot t's weight is
 *     {@code w * m.getOrDefault(t, scale[t])} (a topic slot's weight is the pair's weight times the
 *     off-topic factor, except on the few topics of its posts). A block holds the base weight and
 *     those few corrections, about 16 bytes per edge whatever K, and the driver broadcasts
 *     {@code y / out} (each source's value divided by its out-weight, slot by slot) instead of
 *     {@code y}; the out-weights are kept on the driver as one base sum per source and the exact
 *     sums of its listed slots.</li>
 * </ul>
 *
 * <p>Capped ({@link #cap}, after the uncapped map has converged), each edge's message counts
 * for at most a share of the value its destination gets in that slot: the driver broadcasts the
 * shares and the teleport parts beside the operand, and a block solves each row's water-filling.
 *
 * <p>It computes the same linear map as the DataFrame engine, {@code y <- (d P)^T y + (1 - d) v}
 * per slot, and the same convergence test (each slot's L1 change of the per-group normalised
 * vector below {@code N_group * tol}), but tests it after every superstep. A superstep multiplies
 * the slots in chunks, one Spark job each, so that what it broadcasts is at most
 * {@code chunkBytes}: the driver holds two N x K vectors of doubles (this one and the next) and
 * three chunks (the broadcast operand, its serialised copy, the returned slices), and the blocks
 * the edges: jobs/pagerank.py picks this engine only when that fits (setting
 * {@code pagerank_vector_max_mb}).
 */
public final class VectorPageRank {

    /**
     * A destination range's in-edges as a compressed sparse row matrix: its first vertex, each
     * row's offset into the edges and the edges' sources; the slice it adds to {@code y}.
     */
    abstract static class Matrix implements Serializable {
        private static final long serialVersionUID = 1L;
        final int lo;
        final int[] start; // (hi - lo) + 1 offsets into src and the edges' weights
        final int[] src;

        Matrix(int lo, int[] start, int[] src) {
            this.lo = lo;
            this.start = start;
            this.src = src;
        }

        /**
         * This block's rows of slots a .. b-1 of the product: {@code y} holds those slots only,
         * b - a values per vertex; so does the result, per row of the block. With {@code cap}
         * (two values per vertex and slot, indexed by destination: the share and the teleport
         * part; null: no cap), a capped row's value r is the greatest root of
         * {@code r = base + sum of min(message, share * r)} and the row gets {@code r - base}
         * (the driver adds the teleport part): {@link #waterFill}.
         */
        abstract double[] multiply(double[] y, double[] cap, int k, int a, int b);

        /**
         * One row's slots from its messages ({@code msg[t * deg + i]}: edge i's in slot t): the
         * sum where the slot is uncapped (share {@code cap[2 * (c + t)]} not in (0, 1)), else
         * {@link #waterFill} less the teleport part {@code cap[2 * (c + t) + 1]}.
         */
        static void capRow(double[] msg, int deg, double[] cap, int c, int width, double[] out, int o) {
            for (int t = 0; t < width; t++) {
                double share = cap[2 * (c + t)], base = cap[2 * (c + t) + 1];
                if (share > 0 && share < 1) {
                    out[o + t] = waterFill(msg, t * deg, deg, share, base) - base;
                } else {
                    double acc = 0.0;
                    for (int i = t * deg, end = i + deg; i < end; i++) acc += msg[i];
                    out[o + t] = acc;
                }
            }
        }

        /**
         * The greatest r with {@code r = base + sum over i of min(m[i], share * r)} (m: {@code deg}
         * values from {@code at}, >= 0). The right side is concave in r, so Newton's steps from
         * the plain sum go down and reach it exactly in at most deg + 1 steps: with the messages
         * above {@code share * r} held at it (k of them) and the rest summing to S,
         * {@code r = (base + S) / (1 - k share)}. When only r = 0 solves it (no base, fewer than
         * 1 / share contributors), 0.
         */
        static double waterFill(double[] m, int at, int deg, double share, double base) {
            double r = base;
            for (int i = at; i < at + deg; i++) r += m[i];
            for (int step = 0; step <= deg; step++) {
                double cap = share * r, rest = base;
                int held = 0;
                for (int i = at; i < at + deg; i++) {
                    if (m[i] > cap) held++;
                    else rest += m[i];
                }
                if (held == 0) return r;
                if (held * share >= 1) return r; // not reached from above (the right side would exceed r)
                double next = rest / (1 - held * share);
                if (!(next < r)) return r;
                r = next;
            }
            return r;
        }
    }

    /** Dense: a destination range's in-edges as a CSR matrix of d * P; K weights per edge, edge-major. */
    static final class Block extends Matrix {
        private static final long serialVersionUID = 1L;
        final double[] p;

        Block(int lo, int[] start, int[] src, double[] p) {
            super(lo, start, src);
            this.p = p;
        }

        @Override
        double[] multiply(double[] y, double[] cap, int k, int a, int b) {
            int rows = start.length - 1, width = b - a;
            double[] out = new double[rows * width];
            if (k == 1 && cap == null) {
                for (int r = 0; r < rows; r++) {
                    double acc = 0.0;
                    for (int e = start[r], end = start[r + 1]; e < end; e++) {
                        acc += p[e] * y[src[e]];
                    }
                    out[r] = acc;
                }
                return out;
            }
            double[] msg = new double[0];
            for (int r = 0; r < rows; r++) {
                int o = r * width, first = start[r], end = start[r + 1];
                if (cap != null && (end - first) * width > msg.length) msg = new double[(end - first) * width];
                for (int e = first; e < end; e++) {
                    int s = src[e] * width;
                    int w = e * k + a;
                    if (cap == null) {
                        for (int t = 0; t < width; t++) {
                            out[o + t] += p[w + t] * y[s + t];
                        }
                    } else {
                        for (int t = 0; t < width; t++) {
                            msg[t * (end - first) + e - first] = p[w + t] * y[s + t];
                        }
                    }
                }
                if (cap != null) capRow(msg, end - first, cap, (lo + r) * width, width, out, o);
            }
            return out;
        }
    }

    /**
     * Factored: a destination range's in-edges as a CSR matrix of d times their base weights, with
     * per edge the listed slots' corrections d * w * (m_t - scale[t]). It multiplies {@code y / out}.
     */
    static final class FactoredBlock extends Matrix {
        private static final long serialVersionUID = 1L;
        final double[] w; // d * base weight
        final int[] xStart; // edges + 1 offsets into xSlot / xVal
        final int[] xSlot;
        final double[] xVal; // d * w * (m_t - scale[t])
        final double[] scale;

        FactoredBlock(int lo, int[] start, int[] src, double[] w, int[] xStart, int[] xSlot, double[] xVal, double[] scale) {
            super(lo, start, src);
            this.w = w;
            this.xStart = xStart;
            this.xSlot = xSlot;
            this.xVal = xVal;
            this.scale = scale;
        }

        @Override
        double[] multiply(double[] y, double[] cap, int k, int a, int b) {
            if (cap != null) return multiplyCapped(y, cap, a, b);
            int rows = start.length - 1, width = b - a;
            double[] out = new double[rows * width];
            double[] acc = new double[width];
            for (int r = 0; r < rows; r++) {
                int o = r * width;
                int first = start[r], end = start[r + 1];
                if (first == end) continue;
                Arrays.fill(acc, 0.0);
                for (int e = first; e < end; e++) {
                    int s = src[e] * width;
                    double we = w[e];
                    for (int t = 0; t < width; t++) {
                        acc[t] += we * y[s + t];
                    }
                    for (int x = xStart[e], xe = xStart[e + 1]; x < xe; x++) {
                        int t = xSlot[x] - a;
                        if (t >= 0 && t < width) out[o + t] += xVal[x] * y[s + t];
                    }
                }
                for (int t = 0; t < width; t++) {
                    out[o + t] += scale[a + t] * acc[t];
                }
            }
            return out;
        }

        /** As {@link #multiply}, each edge's whole message (base and correction) kept for the cap. */
        private double[] multiplyCapped(double[] y, double[] cap, int a, int b) {
            int rows = start.length - 1, width = b - a;
            double[] out = new double[rows * width];
            double[] msg = new double[0];
            for (int r = 0; r < rows; r++) {
                int first = start[r], end = start[r + 1], deg = end - first;
                if (deg * width > msg.length) msg = new double[deg * width];
                for (int e = first; e < end; e++) {
                    int s = src[e] * width;
                    double we = w[e];
                    for (int t = 0; t < width; t++) {
                        msg[t * deg + e - first] = scale[a + t] * we * y[s + t];
                    }
                    for (int x = xStart[e], xe = xStart[e + 1]; x < xe; x++) {
                        int t = xSlot[x] - a;
                        if (t >= 0 && t < width) msg[t * deg + e - first] += xVal[x] * y[s + t];
                    }
                }
                capRow(msg, deg, cap, (lo + r) * width, width, out, r * width);
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

    /**
     * Factored edges bound for one block: destination, source, base weight, base normaliser (at
     * least the weight) and the listed slots' multipliers.
     */
    static final class FactoredChunk implements Serializable {
        private static final long serialVersionUID = 1L;
        int size;
        int[] dst = new int[16];
        int[] src = new int[16];
        double[] w = new double[16];
        double[] norm = new double[16];
        int[] xStart = new int[17];
        int pairs;
        int[] xSlot = new int[16];
        double[] xVal = new double[16];

        void add(int d, int s, double wt, double nw, int[] slots, double[] mult, int m) {
            if (size == dst.length) {
                dst = Arrays.copyOf(dst, size * 2);
                src = Arrays.copyOf(src, size * 2);
                w = Arrays.copyOf(w, size * 2);
                norm = Arrays.copyOf(norm, size * 2);
                xStart = Arrays.copyOf(xStart, size * 2 + 1);
            }
            if (pairs + m > xSlot.length) {
                int cap = Math.max(xSlot.length * 2, pairs + m);
                xSlot = Arrays.copyOf(xSlot, cap);
                xVal = Arrays.copyOf(xVal, cap);
            }
            dst[size] = d;
            src[size] = s;
            w[size] = wt;
            norm[size] = nw;
            System.arraycopy(slots, 0, xSlot, pairs, m);
            System.arraycopy(mult, 0, xVal, pairs, m);
            pairs += m;
            xStart[++size] = pairs;
        }
    }

    /** A source block's out-weights (factored form): base sums, and the exact sums of listed slots. */
    static final class OutWeights implements Serializable {
        private static final long serialVersionUID = 1L;
        int lo;
        double[] base; // per source: the sum of its edges' base normalisers
        int[] start; // per source: offsets into slot / out
        int[] slot;
        double[] out; // the source's out-weight in that slot
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
    private final JavaRDD<Matrix> blocks;
    private final double[] scale; // null: dense blocks
    private final int chunk; // slots per Spark job of a superstep
    private double[] outBase; // factored: each source's base out-weight
    private int[] outStart; // factored: n + 1 offsets into outSlot / outVal
    private int[] outSlot;
    private double[] outVal;
    private final int[] fixedAt; // the teleport part (1 - d) v, sparse: index * K + slot
    private final double[] fixedVal;
    private final boolean hasTeleport;
    private final int[] slotCounts;
    private double[] y;
    private double[] spare; // the next vector is written here (and, factored, y / out before it)
    private double[] total;
    private double[] err;
    private int iterations;
    private boolean converged;
    private Broadcast<long[]> keysB; // kept while the blocks may be recomputed
    private double[] capShare; // null: no cap; else per group and slot (g * k + t), 0: that slot uncapped

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
     * @param edges dense ({@code scale == null}): src (long), dst (long), w0 .. w{K-1} (double,
     *              >= 0), then when {@code hasN} n0 .. n{K-1}: the weight the edge counts for in its
     *              source's out-weight (a smaller n counts as w). Factored: src, dst, w (double,
     *              >= 0), then when {@code hasN} n (double), then m (map&lt;int, double&gt;, may be
     *              null): slot t's weight is {@code w * m.getOrDefault(t, scale[t])} and its
     *              normaliser {@code max(w, n)} times the same multiplier; multipliers >= 0, slots
     *              outside 0 .. K-1 ignored. Repeated pairs add up; edges to or from ids outside
     *              {@code verts} are dropped.
     * @param scale null, or K default multipliers (>= 0) of the factored form
     * @param tele  id (long), len (int: the length of the vertex's teleport array), v0 .. v{K-1}
     *              (double, >= 0): the teleport weights, normalised here per group and slot
     * @param chunkBytes the most a superstep broadcasts at once: the slots are multiplied in
     *              jobs of as many slots as fit (the broadcast, its serialised copy and the
     *              returned slices are each that big), so the driver holds two whole vectors and
     *              three chunks whatever the slot count
     */
    public VectorPageRank(Dataset<Row> verts, Dataset<Row> edges, boolean hasN, double[] scale, Dataset<Row> tele,
                          int k, int groups, double damping, double tol, int parts, long chunkBytes) {
        this.spark = verts.sparkSession();
        this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.k = k;
        this.groups = groups;
        this.tol = tol;
        if (scale != null && scale.length != k) {
            throw new IllegalArgumentException("scale has " + scale.length + " multipliers for " + k + " slots");
        }
        this.scale = scale == null ? null : scale.clone();

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
        chunk = (int) Math.max(1, Math.min(k, chunkBytes / (8L * n)));

        final int kk = k, nn = n, pp = Math.max(1, Math.min(parts, n));
        final boolean withN = hasN;
        final double d = damping;
        final Broadcast<long[]> kb = jsc.broadcast(keys);
        keysB = kb;
        if (scale == null) {
            // d * P, built in two shuffles of packed arrays (no row shuffle): the edges by source
            // block, where each source's out-weight is summed and every weight divided by it, then
            // by destination block, where each block becomes a CSR matrix.
            blocks = rows(edges)
                .mapPartitionsToPair(it -> bySource(it, kb.value(), kk, withN, nn, pp))
                .partitionBy(new BlockPartitioner(pp))
                .mapPartitionsWithIndex((b, it) -> normalise(b, it, kk, d, nn, pp), true)
                .mapPartitionsToPair(it -> it)
                .partitionBy(new BlockPartitioner(pp))
                .mapPartitionsWithIndex((b, it) -> pack(b, it, kk, nn, pp), true)
                .persist(StorageLevel.MEMORY_AND_DISK());
        } else {
            // The same two shuffles; the out-weights are collected from the source blocks (the
            // second pass over them reads the same shuffle files) and the blocks keep d * w.
            final double[] sc = this.scale;
            JavaPairRDD<Integer, FactoredChunk> bySrc = rows(edges)
                .mapPartitionsToPair(it -> bySourceFactored(it, kb.value(), kk, withN, nn, pp))
                .partitionBy(new BlockPartitioner(pp));
            collectOutWeights(bySrc.mapPartitionsWithIndex((b, it) -> outWeights(b, it, sc, nn, pp), true).collect());
            blocks = bySrc.mapPartitionsToPair(it -> byDestination(it, nn, pp))
                .partitionBy(new BlockPartitioner(pp))
                .mapPartitionsWithIndex((b, it) -> packFactored(b, it, sc, d, nn, pp), true)
                .persist(StorageLevel.MEMORY_AND_DISK());
        }
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
        tv = null;
        double[] vsum = sums(v);
        int nz = 0;
        for (int i = 0; i < n; i++) {
            int o = grp[i] * k;
            for (int t = 0; t < k; t++) {
                double x = vsum[o + t] > 0 ? v[i * k + t] / vsum[o + t] : 0.0;
                v[i * k + t] = x;
                if (x != 0.0) nz++;
            }
        }
        boolean any = false;
        for (double x : vsum) any |= x > 0;
        hasTeleport = any;
        fixedAt = new int[nz];
        fixedVal = new double[nz];
        for (int i = 0, j = 0; i < v.length; i++) {
            if (v[i] != 0.0) {
                fixedAt[j] = i;
                fixedVal[j++] = (1.0 - damping) * v[i];
            }
        }
        y = v;
        spare = new double[n * k];
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
    private static Iterator<Matrix> pack(int b, Iterator<Tuple2<Integer, Chunk>> it, int k, int n, int parts) {
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
        List<Matrix> out = new ArrayList<>(1);
        out.add(new Block(lo, start, src, p));
        return out.iterator();
    }

    /** Factored edges of one input partition, by source block; edges of weight 0 are dropped. */
    private static Iterator<Tuple2<Integer, FactoredChunk>> bySourceFactored(Iterator<InternalRow> rows, long[] keys,
                                                                             int k, boolean hasN, int n, int parts) {
        FactoredChunk[] chunks = new FactoredChunk[parts];
        int mi = hasN ? 4 : 3;
        int[] slots = new int[16];
        double[] mult = new double[16];
        while (rows.hasNext()) {
            InternalRow r = rows.next();
            double w = Math.max(r.getDouble(2), 0.0);
            if (!(w > 0)) continue; // carries nothing in any slot
            int s = Arrays.binarySearch(keys, r.getLong(0));
            int d = Arrays.binarySearch(keys, r.getLong(1));
            if (s < 0 || d < 0) continue; // an edge to or from a vertex outside the set
            double norm = hasN && !r.isNullAt(3) ? Math.max(w, r.getDouble(3)) : w;
            int m = 0;
            if (!r.isNullAt(mi)) {
                MapData map = r.getMap(mi);
                ArrayData ks = map.keyArray(), vs = map.valueArray();
                for (int j = 0; j < map.numElements(); j++) {
                    if (ks.isNullAt(j) || vs.isNullAt(j)) continue;
                    int t = ks.getInt(j);
                    if (t < 0 || t >= k) continue;
                    if (m == slots.length) {
                        slots = Arrays.copyOf(slots, m * 2);
                        mult = Arrays.copyOf(mult, m * 2);
                    }
                    slots[m] = t;
                    mult[m++] = Math.max(vs.getDouble(j), 0.0);
                }
            }
            int b = blockOf(s, n, parts);
            if (chunks[b] == null) chunks[b] = new FactoredChunk();
            chunks[b].add(d, s, w, norm, slots, mult, m);
        }
        List<Tuple2<Integer, FactoredChunk>> out = new ArrayList<>();
        for (int b = 0; b < parts; b++) {
            if (chunks[b] != null) out.add(new Tuple2<>(b, chunks[b]));
        }
        return out.iterator();
    }

    /**
     * One source block's out-weights: per source the sum of its base normalisers, and for every
     * slot some edge of it lists, the exact sum {@code sum(norm * m_t)} over the edges that list
     * it plus {@code scale[t]} times the normalisers of those that do not (none: exactly zero).
     */
    private static Iterator<OutWeights> outWeights(int b, Iterator<Tuple2<Integer, FactoredChunk>> it, double[] scale,
                                                   int n, int parts) {
        int lo = lo(b, n, parts), hi = lo(b + 1, n, parts), rows = hi - lo, k = scale.length;
        List<FactoredChunk> chunks = new ArrayList<>();
        double[] base = new double[rows];
        int[] edgesOf = new int[rows + 1];
        while (it.hasNext()) {
            FactoredChunk c = it.next()._2();
            chunks.add(c);
            for (int i = 0; i < c.size; i++) {
                base[c.src[i] - lo] += c.norm[i];
                edgesOf[c.src[i] - lo + 1]++;
            }
        }
        for (int r = 0; r < rows; r++) edgesOf[r + 1] += edgesOf[r];
        // each source's edges, as (chunk, edge) pairs
        int[] next = Arrays.copyOf(edgesOf, rows);
        int[] ec = new int[edgesOf[rows]];
        int[] ei = new int[edgesOf[rows]];
        for (int ci = 0; ci < chunks.size(); ci++) {
            FactoredChunk c = chunks.get(ci);
            for (int i = 0; i < c.size; i++) {
                int e = next[c.src[i] - lo]++;
                ec[e] = ci;
                ei[e] = i;
            }
        }
        double[] listed = new double[k]; // sum of norm * m_t over the edges listing t
        double[] listedNorm = new double[k]; // sum of norm over them
        int[] listedCount = new int[k];
        int[] touched = new int[k];
        OutWeights ow = new OutWeights();
        ow.lo = lo;
        ow.base = base;
        ow.start = new int[rows + 1];
        ow.slot = new int[16];
        ow.out = new double[16];
        int m = 0;
        for (int r = 0; r < rows; r++) {
            int nt = 0;
            for (int e = edgesOf[r]; e < edgesOf[r + 1]; e++) {
                FactoredChunk c = chunks.get(ec[e]);
                int i = ei[e];
                for (int x = c.xStart[i]; x < c.xStart[i + 1]; x++) {
                    int t = c.xSlot[x];
                    if (listedCount[t]++ == 0) touched[nt++] = t;
                    listed[t] += c.norm[i] * c.xVal[x];
                    listedNorm[t] += c.norm[i];
                }
            }
            int edges = edgesOf[r + 1] - edgesOf[r];
            Arrays.sort(touched, 0, nt);
            for (int j = 0; j < nt; j++) {
                int t = touched[j];
                double rest = listedCount[t] == edges ? 0.0 : scale[t] * (base[r] - listedNorm[t]);
                if (m == ow.slot.length) {
                    ow.slot = Arrays.copyOf(ow.slot, m * 2);
                    ow.out = Arrays.copyOf(ow.out, m * 2);
                }
                ow.slot[m] = t;
                ow.out[m++] = listed[t] + rest;
                listed[t] = 0.0;
                listedNorm[t] = 0.0;
                listedCount[t] = 0;
            }
            ow.start[r + 1] = m;
        }
        ow.slot = Arrays.copyOf(ow.slot, m);
        ow.out = Arrays.copyOf(ow.out, m);
        List<OutWeights> res = new ArrayList<>(1);
        res.add(ow);
        return res.iterator();
    }

    /** The source blocks' out-weights, in vertex order, on the driver. */
    private void collectOutWeights(List<OutWeights> parts) {
        outBase = new double[n];
        outStart = new int[n + 1];
        long pairs = 0;
        for (OutWeights ow : parts) pairs += ow.slot.length;
        if (pairs > MAX_ARRAY) {
            throw new IllegalArgumentException(pairs + " listed (source, slot) out-weights are more than one Java array "
                + "holds: use the dataframe engine (pagerank_engine)");
        }
        outSlot = new int[(int) pairs];
        outVal = new double[(int) pairs];
        List<OutWeights> ordered = new ArrayList<>(parts);
        ordered.sort((a, b) -> Integer.compare(a.lo, b.lo));
        int at = 0;
        for (OutWeights ow : ordered) {
            int rows = ow.base.length;
            System.arraycopy(ow.base, 0, outBase, ow.lo, rows);
            for (int r = 0; r < rows; r++) outStart[ow.lo + r + 1] = at + ow.start[r + 1];
            System.arraycopy(ow.slot, 0, outSlot, at, ow.slot.length);
            System.arraycopy(ow.out, 0, outVal, at, ow.out.length);
            at += ow.slot.length;
        }
    }

    /** One source block's edges re-bucketed by destination block (the out-weights stay on the driver). */
    private static Iterator<Tuple2<Integer, FactoredChunk>> byDestination(Iterator<Tuple2<Integer, FactoredChunk>> it,
                                                                          int n, int parts) {
        FactoredChunk[] byDst = new FactoredChunk[parts];
        int[] slots = new int[16];
        double[] mult = new double[16];
        while (it.hasNext()) {
            FactoredChunk c = it.next()._2();
            for (int i = 0; i < c.size; i++) {
                int m = c.xStart[i + 1] - c.xStart[i];
                if (m > slots.length) {
                    slots = new int[m];
                    mult = new double[m];
                }
                System.arraycopy(c.xSlot, c.xStart[i], slots, 0, m);
                System.arraycopy(c.xVal, c.xStart[i], mult, 0, m);
                int db = blockOf(c.dst[i], n, parts);
                if (byDst[db] == null) byDst[db] = new FactoredChunk();
                byDst[db].add(c.dst[i], c.src[i], c.w[i], c.norm[i], slots, mult, m);
            }
        }
        List<Tuple2<Integer, FactoredChunk>> res = new ArrayList<>();
        for (int d = 0; d < parts; d++) {
            if (byDst[d] != null) res.add(new Tuple2<>(d, byDst[d]));
        }
        return res.iterator();
    }

    /** One destination block as a factored CSR matrix of its in-edges (d * w, listed corrections). */
    private static Iterator<Matrix> packFactored(int b, Iterator<Tuple2<Integer, FactoredChunk>> it, double[] scale,
                                                 double damping, int n, int parts) {
        int lo = lo(b, n, parts), hi = lo(b + 1, n, parts);
        List<FactoredChunk> chunks = new ArrayList<>();
        int[] start = new int[hi - lo + 1];
        long m = 0, pairs = 0;
        while (it.hasNext()) {
            FactoredChunk c = it.next()._2();
            chunks.add(c);
            for (int i = 0; i < c.size; i++) start[c.dst[i] - lo + 1]++;
            m += c.size;
            pairs += c.pairs;
        }
        if (m > MAX_ARRAY - 1 || pairs > MAX_ARRAY) {
            throw new IllegalArgumentException("an edge block of " + m + " edges and " + pairs + " listed slots is more "
                + "than one Java array holds: raise spark.sql.shuffle.partitions (the number of blocks)");
        }
        for (int r = 0; r < hi - lo; r++) start[r + 1] += start[r];
        int[] next = Arrays.copyOf(start, hi - lo);
        int[] src = new int[(int) m];
        double[] w = new double[(int) m];
        int[] count = new int[(int) m + 1];
        int[][] where = new int[chunks.size()][];
        for (int ci = 0; ci < chunks.size(); ci++) {
            FactoredChunk c = chunks.get(ci);
            where[ci] = new int[c.size];
            for (int i = 0; i < c.size; i++) {
                int e = next[c.dst[i] - lo]++;
                where[ci][i] = e;
                src[e] = c.src[i];
                w[e] = damping * c.w[i];
                count[e + 1] = c.xStart[i + 1] - c.xStart[i];
            }
        }
        for (int e = 0; e < m; e++) count[e + 1] += count[e];
        int[] xSlot = new int[(int) pairs];
        double[] xVal = new double[(int) pairs];
        for (int ci = 0; ci < chunks.size(); ci++) {
            FactoredChunk c = chunks.get(ci);
            for (int i = 0; i < c.size; i++) {
                int e = where[ci][i];
                for (int x = c.xStart[i], at = count[e]; x < c.xStart[i + 1]; x++, at++) {
                    xSlot[at] = c.xSlot[x];
                    xVal[at] = w[e] * (c.xVal[x] - scale[c.xSlot[x]]);
                }
            }
        }
        List<Matrix> out = new ArrayList<>(1);
        out.add(new FactoredBlock(lo, start, src, w, count, xSlot, xVal, scale));
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

    /**
     * Slots a .. b-1 of what the blocks multiply, b - a values per vertex: {@code y} itself (dense,
     * all slots), or those slots of {@code y} (dense) or of {@code y / out} (factored: 0 where out
     * is 0), in a new array.
     */
    private double[] operand(int a, int b) {
        if (scale == null && a == 0 && b == k) return y;
        int width = b - a;
        double[] yp = new double[n * width];
        for (int s = 0; s < n; s++) {
            int o = s * k + a, p = s * width;
            if (scale == null) {
                System.arraycopy(y, o, yp, p, width);
                continue;
            }
            double base = outBase[s];
            for (int t = 0; t < width; t++) {
                double w = scale[a + t] * base;
                yp[p + t] = w > 0 ? y[o + t] / w : 0.0;
            }
            for (int c = outStart[s]; c < outStart[s + 1]; c++) {
                int t = outSlot[c] - a;
                if (t >= 0 && t < width) yp[p + t] = outVal[c] > 0 ? y[o + t] / outVal[c] : 0.0;
            }
        }
        return yp;
    }

    /**
     * From now on, cap every message: along an edge u -> v in slot t of group g, at most
     * {@code shares[g * k + t]} (0, or 1 and above: that slot uncapped) of the value v gets, and
     * run on until converged again. Each superstep gives v the greatest r with
     * {@code r = teleport part + sum over u of min(message, share * r)} ({@link Matrix#waterFill}),
     * so that the caps hold within the superstep and only the flows between vertices are left
     * to settle (capping against v's previous value instead took 108 capped supersteps against
     * 40 on a 300-account test day, 76 against 26 on tests/test_sparks.py's case). Call it once the uncapped map has converged: the capped
     * map is monotone and below the uncapped one, so from the uncapped fixed point its iterates
     * decrease to the greatest capped fixed point; what a cap withholds returns through the
     * teleport, as dangling mass does. (From the teleport vector instead, a vertex without
     * teleport weight would stay at 0 whatever reached it.)
     */
    public void cap(double[] shares) {
        if (shares.length != groups * k) {
            throw new IllegalArgumentException("cap has " + shares.length + " shares for " + groups + " groups of " + k + " slots");
        }
        boolean any = false;
        for (double c : shares) any |= c > 0 && c < 1;
        capShare = any ? shares.clone() : null;
        if (any) converged = false;
    }

    /** Slots a .. b-1 of each vertex's share (0: uncapped) and teleport part, interleaved. */
    private double[] caps(int a, int b) {
        int width = b - a;
        double[] c = new double[2 * n * width];
        for (int i = 0; i < n; i++) {
            int g = grp[i] * k;
            for (int t = 0; t < width; t++) c[2 * (i * width + t)] = capShare[g + a + t];
        }
        for (int j = 0; j < fixedAt.length; j++) {
            int i = fixedAt[j] / k, t = fixedAt[j] % k - a;
            if (t >= 0 && t < width) c[2 * (i * width + t) + 1] = fixedVal[j];
        }
        return c;
    }

    private void superstep() {
        // Every block returns its whole destination range, so the slices cover the vector.
        double[] next = spare;
        // capped, each chunk broadcasts two values per slot beside the operand: a third as many slots at once
        int step = capShare == null ? chunk : Math.max(1, chunk / 3);
        for (int a = 0; a < k; a += step) {
            final int lo = a, hi = Math.min(k, a + step), width = hi - a, kk = k;
            final Broadcast<double[]> yb = jsc.broadcast(operand(lo, hi));
            final Broadcast<double[]> cb = capShare == null ? null : jsc.broadcast(caps(lo, hi));
            List<Tuple2<Integer, double[]>> slices;
            try {
                slices = blocks.map(b -> new Tuple2<>(b.lo, b.multiply(yb.value(), cb == null ? null : cb.value(), kk, lo, hi))).collect();
            } finally {
                // Blocking, so that each chunk's copy is gone before the next one (memory stays
                // flat) and the ContextCleaner finds nothing left to remove (an asynchronous
                // destroy raced with it and logged "Error cleaning broadcast").
                yb.destroy(true);
                if (cb != null) cb.destroy(true);
            }
            for (Tuple2<Integer, double[]> sl : slices) {
                double[] part = sl._2();
                if (width == k) {
                    System.arraycopy(part, 0, next, sl._1() * k, part.length);
                    continue;
                }
                for (int r = 0, rows = part.length / width; r < rows; r++) {
                    System.arraycopy(part, r * width, next, (sl._1() + r) * k + lo, width);
                }
            }
        }
        for (int j = 0; j < fixedAt.length; j++) next[fixedAt[j]] += fixedVal[j];
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
        spare = y;
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
