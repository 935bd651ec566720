using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The AVX-512 attention loops that work on blocks of 16 keys, for every K/V storage type (<see cref="IKvLanes"/>):
/// <list type="bullet">
/// <item>Scores, vectorized across keys. Narrow heads: a vector holds two 8-wide keys (or one 16-wide key) times the query,
/// and a pairwise lane tree reduces 16 keys at once to one lane each. Heads of 16·m values (16-bit K/V): each key's
/// vector is one FMA chain over its m chunks, reduced by the same tree <c>Vector512.Sum</c> uses, so the bits equal
/// <see cref="HalfPrecisionDot.Row"/> key by key. A ragged last block is copied into a zero-padded scratch block, so
/// every key's score has the same bits whatever the key count.</item>
/// <item>Values. Narrow heads (8 or 16 values): the probabilities of a block are spread over the lanes and four
/// accumulators take the keys in turn, reduced once at the end (a different summation order from the key-by-key loop:
/// the results differ from it by float rounding). Heads of 32, 64 or 128 values (16-bit K/V): the output head stays in
/// registers, one FMA per element in key order, zero weights skipped, the same bits as <see cref="HalfKvRows.AddScaled"/>.</item>
/// </list>
/// Half codes are read by <see cref="ScaledHalfLanes"/> (k·2^−112, with the query and the weights scaled by 2^112 instead:
/// the same products) or <see cref="FiniteHalfLanes"/> (a query of 2^16 or more), and by the exact forms of either when the
/// block holds ±∞ or NaN.
/// </summary>
public static unsafe partial class SingleQueryAttention
{
    /// <summary>Whether <see cref="ScoreBlocks{T}"/> takes keys of <paramref name="headDim"/> values on this path.</summary>
    internal static bool BlockedScores(KernelIsa isa, int headDim) => isa == KernelIsa.Avx512 && (headDim is 8 or 16 || headDim % 16 == 0);

    /// <summary>Whether <see cref="AddValueBlocks{T}"/> takes values of <paramref name="headDim"/> values for <paramref name="storage"/>.</summary>
    internal static bool BlockedValues(KernelIsa isa, KvCacheType storage, int headDim) =>
        isa == KernelIsa.Avx512 && (headDim is 8 or 16 || (storage != KvCacheType.Float32 && headDim is 32 or 64 or 128));

    /// <summary>
    /// scores[j] = q·k_j for the <paramref name="count"/> keys (<paramref name="headDim"/> apart) at <paramref name="keys"/>;
    /// <paramref name="scratch"/> holds 16·<paramref name="headDim"/> elements for the ragged last block.
    /// </summary>
    /// <remarks>
    /// With <paramref name="readPastCount"/> (float32 only: the buffer holds whole blocks past <paramref name="count"/>), the
    /// ragged last block is read in place instead of through <paramref name="scratch"/>: the lanes past count are scored
    /// from whatever the cache holds there and stored after scores[count − 1] (the buffer must hold count rounded up to 16);
    /// the lanes below count get the same bits either way, each key's score being its own lane.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScoreBlocks<T>(float* q, byte* keys, int headDim, int count, float* scores, byte* scratch, bool readPastCount = false) where T : struct, IKvLanes
    {
        var q0 = headDim == 8 ? Vector512.Create(Vector256.Load(q), Vector256.Load(q)) : Vector512.Load(q); // (q | q) for two 8-wide keys
        long block = 16L * headDim * T.Size;
        int full = count & ~15;
        for (int j = 0; j < full; j += 16)
            ScoreBlock<T>(q, q0, keys + ((long)j * headDim * T.Size), headDim).Store(scores + j);
        if (full == count) return;
        if (readPastCount && typeof(T) == typeof(Float32Lanes))
        {
            ScoreBlock<T>(q, q0, keys + ((long)full * headDim * T.Size), headDim).Store(scores + full);
            return;
        }
        long used = (long)(count - full) * headDim * T.Size;
        Buffer.MemoryCopy(keys + ((long)full * headDim * T.Size), scratch, block, used);
        new Span<byte>(scratch + used, (int)(block - used)).Clear();
        var last = ScoreBlock<T>(q, q0, scratch, headDim);
        for (int j = full; j < count; j++) scores[j] = last.GetElement(j - full);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScoreBlock<T>(float* q, Vector512<float> q0, byte* k, int headDim) where T : struct, IKvLanes
    {
        if (typeof(T) == typeof(FiniteHalfLanes) && FiniteHalfLanes.AnySpecial(k, 16 * headDim)) return ScoreBlockOf<ExactHalfLanes>(q, q0, k, headDim);
        if (typeof(T) == typeof(ScaledHalfLanes) && FiniteHalfLanes.AnySpecial(k, 16 * headDim)) return ScoreBlockOf<ExactScaledHalfLanes>(q, q0, k, headDim);
        return ScoreBlockOf<T>(q, q0, k, headDim);
    }

    /// <summary>16 keys' dots, lane i = key i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScoreBlockOf<T>(float* q, Vector512<float> q0, byte* k, int headDim) where T : struct, IKvLanes
    {
        if (headDim == 8)
        {
            // Vector i = keys 2i (lanes 0..7) and 2i + 1 (lanes 8..15) times the query; three levels of neighbour sums.
            var x0 = T.Load(k, 0) * q0; var x1 = T.Load(k, 16) * q0; var x2 = T.Load(k, 32) * q0; var x3 = T.Load(k, 48) * q0;
            var x4 = T.Load(k, 64) * q0; var x5 = T.Load(k, 80) * q0; var x6 = T.Load(k, 96) * q0; var x7 = T.Load(k, 112) * q0;
            return Pair(Pair(Pair(x0, x1), Pair(x2, x3)), Pair(Pair(x4, x5), Pair(x6, x7)));
        }
        long d = headDim;
        var p0 = Pair(KeyChain<T>(q, q0, k, headDim), KeyChain<T>(q, q0, k + (d * T.Size), headDim));
        var p1 = Pair(KeyChain<T>(q, q0, k + (2 * d * T.Size), headDim), KeyChain<T>(q, q0, k + (3 * d * T.Size), headDim));
        var p2 = Pair(KeyChain<T>(q, q0, k + (4 * d * T.Size), headDim), KeyChain<T>(q, q0, k + (5 * d * T.Size), headDim));
        var p3 = Pair(KeyChain<T>(q, q0, k + (6 * d * T.Size), headDim), KeyChain<T>(q, q0, k + (7 * d * T.Size), headDim));
        var p4 = Pair(KeyChain<T>(q, q0, k + (8 * d * T.Size), headDim), KeyChain<T>(q, q0, k + (9 * d * T.Size), headDim));
        var p5 = Pair(KeyChain<T>(q, q0, k + (10 * d * T.Size), headDim), KeyChain<T>(q, q0, k + (11 * d * T.Size), headDim));
        var p6 = Pair(KeyChain<T>(q, q0, k + (12 * d * T.Size), headDim), KeyChain<T>(q, q0, k + (13 * d * T.Size), headDim));
        var p7 = Pair(KeyChain<T>(q, q0, k + (14 * d * T.Size), headDim), KeyChain<T>(q, q0, k + (15 * d * T.Size), headDim));
        return Pair(Pair(Pair(p0, p1), Pair(p2, p3)), Pair(Pair(p4, p5), Pair(p6, p7)));
    }

    /// <summary>One key's 16-lane vector: HalfPrecisionDot.Row's single FMA chain over the key's 16-value chunks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> KeyChain<T>(float* q, Vector512<float> q0, byte* k, int headDim) where T : struct, IKvLanes
    {
        var acc = Avx512F.FusedMultiplyAdd(T.Load(k, 0), q0, Vector512<float>.Zero);
        for (int i = 16; i < headDim; i += 16) acc = Avx512F.FusedMultiplyAdd(T.Load(k, i), Vector512.Load(q + i), acc);
        return acc;
    }

    /// <summary>
    /// output (written, not added to) = Σ_j p[j]·v_j over the <paramref name="count"/> values at <paramref name="values"/>;
    /// <paramref name="p"/> is readable and zero up to the next multiple of 16 for narrow heads, and
    /// <paramref name="scratch"/> holds 16·<paramref name="headDim"/> elements.
    /// </summary>
    /// <remarks>
    /// With <paramref name="readPastCount"/> (float32 only: the buffer holds whole blocks past <paramref name="count"/>), the
    /// ragged last block is read in place with every value of a zero weight taken as +0 (as the scratch copy's zero rows
    /// are past count), so nothing the cache holds past count reaches the output.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddValueBlocks<T>(float* p, int count, byte* values, int headDim, float* output, byte* scratch, bool readPastCount = false) where T : struct, IKvLanes
    {
        if (headDim > 16)
        {
            AddValueChains<T>(p, count, values, headDim, output);
            return;
        }
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        long block = 16L * headDim * T.Size;
        int full = count & ~15;
        for (int j = 0; j < full; j += 16)
            ValueBlock<T>(Vector512.Load(p + j), values + ((long)j * headDim * T.Size), headDim, ref a0, ref a1, ref a2, ref a3);
        if (full < count && readPastCount && typeof(T) == typeof(Float32Lanes))
        {
            var weights = Vector512.Load(p + full);
            byte* v = values + ((long)full * headDim * T.Size);
            if (headDim == 8) ValueBlock8<T>(weights, v, true, ref a0, ref a1, ref a2, ref a3);
            else ValueBlock16<T>(weights, v, true, ref a0, ref a1, ref a2, ref a3);
        }
        else if (full < count)
        {
            long used = (long)(count - full) * headDim * T.Size;
            Buffer.MemoryCopy(values + ((long)full * headDim * T.Size), scratch, block, used);
            new Span<byte>(scratch + used, (int)(block - used)).Clear();
            ValueBlock<T>(Vector512.Load(p + full), scratch, headDim, ref a0, ref a1, ref a2, ref a3);
        }
        var sum = (a0 + a1) + (a2 + a3);
        if (headDim == 8) (sum.GetLower() + sum.GetUpper()).Store(output); // keys 2i and 2i + 1 were in the two halves
        else sum.Store(output);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValueBlock<T>(Vector512<float> probabilities, byte* v, int headDim, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
        where T : struct, IKvLanes
    {
        if (typeof(T) == typeof(FiniteHalfLanes) && FiniteHalfLanes.AnySpecial(v, 16 * headDim))
        {
            // ±∞ or NaN in the block: exact widening, and a zero weight contributes 0 (not 0·∞ = NaN), as if the key were skipped.
            if (headDim == 8) ValueBlock8<ExactHalfLanes>(probabilities, v, true, ref a0, ref a1, ref a2, ref a3);
            else ValueBlock16<ExactHalfLanes>(probabilities, v, true, ref a0, ref a1, ref a2, ref a3);
            return;
        }
        if (typeof(T) == typeof(ScaledHalfLanes) && FiniteHalfLanes.AnySpecial(v, 16 * headDim))
        {
            if (headDim == 8) ValueBlock8<ExactScaledHalfLanes>(probabilities, v, true, ref a0, ref a1, ref a2, ref a3);
            else ValueBlock16<ExactScaledHalfLanes>(probabilities, v, true, ref a0, ref a1, ref a2, ref a3);
            return;
        }
        if (headDim == 8) ValueBlock8<T>(probabilities, v, false, ref a0, ref a1, ref a2, ref a3);
        else ValueBlock16<T>(probabilities, v, false, ref a0, ref a1, ref a2, ref a3);
    }

    /// <summary>Eight vectors of two 8-wide values (keys 2i, 2i + 1), each times its keys' weights spread over its halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValueBlock8<T>(Vector512<float> p, byte* v, bool masked, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
        where T : struct, IKvLanes
    {
        a0 = Fma8<T>(p, Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), v, 0, masked, a0);
        a1 = Fma8<T>(p, Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), v, 16, masked, a1);
        a2 = Fma8<T>(p, Vector512.Create(4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5), v, 32, masked, a2);
        a3 = Fma8<T>(p, Vector512.Create(6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7), v, 48, masked, a3);
        a0 = Fma8<T>(p, Vector512.Create(8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9), v, 64, masked, a0);
        a1 = Fma8<T>(p, Vector512.Create(10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11), v, 80, masked, a1);
        a2 = Fma8<T>(p, Vector512.Create(12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13), v, 96, masked, a2);
        a3 = Fma8<T>(p, Vector512.Create(14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15), v, 112, masked, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fma8<T>(Vector512<float> p, Vector512<int> lanes, byte* v, long element, bool masked, Vector512<float> acc) where T : struct, IKvLanes
    {
        var weight = Avx512F.PermuteVar16x32(p, lanes);
        var value = T.Load(v, element);
        if (masked) value = Vector512.ConditionalSelect(Vector512.Equals(weight, Vector512<float>.Zero), Vector512<float>.Zero, value);
        return Avx512F.FusedMultiplyAdd(weight, value, acc);
    }

    /// <summary>Sixteen 16-wide values, each times its key's weight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValueBlock16<T>(Vector512<float> p, byte* v, bool masked, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
        where T : struct, IKvLanes
    {
        for (int i = 0; i < 16; i += 4)
        {
            a0 = Fma16<T>(p, i, v, masked, a0);
            a1 = Fma16<T>(p, i + 1, v, masked, a1);
            a2 = Fma16<T>(p, i + 2, v, masked, a2);
            a3 = Fma16<T>(p, i + 3, v, masked, a3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fma16<T>(Vector512<float> p, int key, byte* v, bool masked, Vector512<float> acc) where T : struct, IKvLanes
    {
        var weight = Avx512F.PermuteVar16x32(p, Vector512.Create(key));
        var value = T.Load(v, 16L * key);
        if (masked) value = Vector512.ConditionalSelect(Vector512.Equals(weight, Vector512<float>.Zero), Vector512<float>.Zero, value);
        return Avx512F.FusedMultiplyAdd(weight, value, acc);
    }

    /// <summary>
    /// Heads of 32, 64 or 128 values: the output head in registers, one FMA per element in key order, zero weights skipped
    /// (HalfKvRows.AddScaled's arithmetic).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddValueChains<T>(float* p, int count, byte* values, int headDim, float* output) where T : struct, IKvLanes
    {
        Vector512<float> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
        for (int start = 0; start < count; start += 16)
        {
            int end = Math.Min(start + 16, count);
            byte* block = values + ((long)start * headDim * T.Size);
            if (typeof(T) == typeof(FiniteHalfLanes) && FiniteHalfLanes.AnySpecial(block, (end - start) * headDim))
                ValueChains<ExactHalfLanes>(p, start, end, values, headDim, ref o0, ref o1, ref o2, ref o3, ref o4, ref o5, ref o6, ref o7);
            else if (typeof(T) == typeof(ScaledHalfLanes) && FiniteHalfLanes.AnySpecial(block, (end - start) * headDim))
                ValueChains<ExactScaledHalfLanes>(p, start, end, values, headDim, ref o0, ref o1, ref o2, ref o3, ref o4, ref o5, ref o6, ref o7);
            else
                ValueChains<T>(p, start, end, values, headDim, ref o0, ref o1, ref o2, ref o3, ref o4, ref o5, ref o6, ref o7);
        }
        o0.Store(output); o1.Store(output + 16);
        if (headDim == 32) return;
        o2.Store(output + 32); o3.Store(output + 48);
        if (headDim == 64) return;
        o4.Store(output + 64); o5.Store(output + 80); o6.Store(output + 96); o7.Store(output + 112);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValueChains<T>(float* p, int start, int end, byte* values, int headDim,
        ref Vector512<float> o0, ref Vector512<float> o1, ref Vector512<float> o2, ref Vector512<float> o3,
        ref Vector512<float> o4, ref Vector512<float> o5, ref Vector512<float> o6, ref Vector512<float> o7) where T : struct, IKvLanes
    {
        for (int j = start; j < end; j++)
        {
            if (p[j] == 0) continue;
            var s = Vector512.Create(p[j]);
            byte* v = values + ((long)j * headDim * T.Size);
            o0 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 0), o0);
            o1 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 16), o1);
            if (headDim == 32) continue;
            o2 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 32), o2);
            o3 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 48), o3);
            if (headDim == 64) continue;
            o4 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 64), o4);
            o5 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 80), o5);
            o6 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 96), o6);
            o7 = Avx512F.FusedMultiplyAdd(s, T.Load(v, 112), o7);
        }
    }
}
