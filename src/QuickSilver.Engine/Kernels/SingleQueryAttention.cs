using System.Buffers;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Attention of one query row over a layer's cached keys and values, in managed code: the decode step's attention without
/// libtorch (whose fused kernel forks OpenMP threads for a few hundred multiply-adds). Keys and values are laid out
/// (nkv, capacity, hs) as the K/V cache holds them; query heads of a group share their key/value head. Tested against
/// <see cref="RowOpsReference.Attend"/>.
/// </summary>
public static unsafe partial class SingleQueryAttention
{
    /// <summary>Multiply-adds below which the heads run on the calling thread alone.</summary>
    public const long ParallelThreshold = 1 << 16;

    /// <summary>Widest head the block loops take (their scratch block is on the stack).</summary>
    private const int MaxBlockedHeadDim = 256;

    /// <summary>
    /// Writes softmax(q·kᵀ·scale)·v per head into <paramref name="output"/> (nh·hs): keys later than
    /// <paramref name="queryPosition"/> or outside the window are masked, scores soft-capped when <paramref name="softCap"/> &gt; 0.
    /// </summary>
    /// <param name="query">The query row, nh·hs.</param>
    /// <param name="keys">Cached keys (nkv, capacity, hs).</param>
    /// <param name="values">Cached values (nkv, capacity, hs).</param>
    /// <param name="keyPositions">Position of each of the <paramref name="count"/> entries; null when they are 0..count−1, all visible.</param>
    /// <param name="count">Entries written.</param>
    /// <param name="capacity">Entries the buffers have room for (the stride between key heads).</param>
    /// <param name="heads">Query heads nh.</param>
    /// <param name="kvHeads">Key/value heads nkv (divides nh).</param>
    /// <param name="headDim">Head width hs.</param>
    /// <param name="queryPosition">The query's position.</param>
    /// <param name="scale">Score scale (1/√hs unless the model says otherwise).</param>
    /// <param name="window">Sliding window, or null.</param>
    /// <param name="softCap">Soft-cap, or 0.</param>
    /// <param name="output">nh·hs values.</param>
    /// <param name="threads">Threads to split heads over.</param>
    public static void Attend(ReadOnlySpan<float> query, float* keys, float* values, long* keyPositions, int count, int capacity,
        int heads, int kvHeads, int headDim, long queryPosition, double scale, int? window, float softCap, Span<float> output, int threads) =>
        Attend(query, KvCacheType.Float32, keys, values, keyPositions, count, capacity, heads, kvHeads, headDim, queryPosition, scale, window, softCap, output, threads);

    /// <summary>
    /// As the float32 overload, over keys and values stored as <paramref name="storage"/>: 16-bit ones are widened in
    /// registers as they are read (<see cref="HalfKvRows"/>), never converted as a whole.
    /// </summary>
    /// <param name="query">The query row, nh·hs.</param>
    /// <param name="storage">The element type of <paramref name="keys"/> and <paramref name="values"/>.</param>
    /// <param name="keys">Cached keys (nkv, capacity, hs).</param>
    /// <param name="values">Cached values (nkv, capacity, hs).</param>
    /// <param name="keyPositions">Position of each of the <paramref name="count"/> entries; null when they are 0..count−1, all visible.</param>
    /// <param name="count">Entries written.</param>
    /// <param name="capacity">Entries the buffers have room for (the stride between key heads).</param>
    /// <param name="heads">Query heads nh.</param>
    /// <param name="kvHeads">Key/value heads nkv (divides nh).</param>
    /// <param name="headDim">Head width hs.</param>
    /// <param name="queryPosition">The query's position.</param>
    /// <param name="scale">Score scale (1/√hs unless the model says otherwise).</param>
    /// <param name="window">Sliding window, or null.</param>
    /// <param name="softCap">Soft-cap, or 0.</param>
    /// <param name="output">nh·hs values.</param>
    /// <param name="threads">Threads to split heads over.</param>
    public static void Attend(ReadOnlySpan<float> query, KvCacheType storage, void* keys, void* values, long* keyPositions, int count, int capacity,
        int heads, int kvHeads, int headDim, long queryPosition, double scale, int? window, float softCap, Span<float> output, int threads)
    {
        if (!Enum.IsDefined(storage)) throw new ArgumentOutOfRangeException(nameof(storage), storage, "Unknown K/V cache type.");
        if (kvHeads <= 0 || heads % kvHeads != 0) throw new ArgumentException($"{heads} query heads do not group over {kvHeads} key/value heads.", nameof(kvHeads));
        if (query.Length < heads * headDim || output.Length < heads * headDim) throw new ArgumentException("Query and output need nh·hs values.");
        if (count > capacity) throw new ArgumentOutOfRangeException(nameof(count), $"{count} entries exceed the capacity {capacity}.");
        fixed (float* q = query)
        fixed (float* o = output)
        {
            var job = new Job(q, (byte*)keys, (byte*)values, storage, KernelSettings.Isa, keyPositions, count, capacity, heads / kvHeads, headDim, queryPosition, (float)scale, window, softCap, o);
            int parts = (int)Math.Clamp(Math.Min(threads, (long)count * heads * headDim * 2 / ParallelThreshold), 1, heads);
            if (parts == 1)
            {
                job.Run(0, heads);
                return;
            }
            PoolFork.For(parts, p => job.Run(heads * p / parts, heads * (p + 1) / parts));
        }
    }

    private readonly struct Job(float* q, byte* keys, byte* values, KvCacheType storage, KernelIsa isa, long* positions, int count, int capacity, int groups, int headDim,
        long queryPosition, float scale, int? window, float softCap, float* output)
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run(int headStart, int headEnd)
        {
            bool wide = storage == KvCacheType.Float32, bfloat16 = storage == KvCacheType.BFloat16;
            int element = wide ? sizeof(float) : sizeof(ushort);
            // Blocks of 16 keys (SingleQueryAttention.Blocks.cs) where they apply; float32 heads of 32 or more keep KeyDots16
            // (RowOps.Dot's four chains). A 16-wide float32 key is one FMA and the same lane tree in both, so the blocks,
            // which also take a ragged last block, give KeyDots16's bits.
            bool blockedScores = headDim <= MaxBlockedHeadDim && (wide ? isa == KernelIsa.Avx512 && headDim is 8 or 16 : BlockedScores(isa, headDim));
            bool blockedValues = headDim <= MaxBlockedHeadDim && BlockedValues(isa, storage, headDim);
            int padded = (count + 15) & ~15; // narrow value blocks read whole blocks of weights
            // Float32 blocks whose padding stays inside every head's buffer are read in place (no scratch copy of the tail).
            bool readPastCount = wide && padded <= capacity;
            float[] rented = ArrayPool<float>.Shared.Rent(Math.Max(1, padded));
            byte* scratch = stackalloc byte[blockedScores || blockedValues ? 16 * headDim * element : 1];
            float* scaledQuery = stackalloc float[blockedScores ? headDim : 1];
            try
            {
                var scores = rented.AsSpan(0, count);
                fixed (float* sp = rented)
                {
                    for (int h = headStart; h < headEnd; h++)
                    {
                        int g = h / groups;
                        float* qp = q + ((long)h * headDim);
                        var qh = new ReadOnlySpan<float>(qp, headDim);
                        byte* kh = keys + ((long)g * capacity * headDim * element);
                        byte* vh = values + ((long)g * capacity * headDim * element);
                        // Dots computed ahead for keys [0, ready) (same bits as the key-by-key calls below); masks and scale after.
                        int ready = 0;
                        if (blockedScores)
                        {
                            if (wide) ScoreBlocks<Float32Lanes>(qp, kh, headDim, count, sp, scratch, readPastCount);
                            else if (bfloat16) ScoreBlocks<BFloat16Lanes>(qp, kh, headDim, count, sp, scratch);
                            else if (ScaleQuery(qp, headDim, scaledQuery)) ScoreBlocks<ScaledHalfLanes>(scaledQuery, kh, headDim, count, sp, scratch);
                            else ScoreBlocks<FiniteHalfLanes>(qp, kh, headDim, count, sp, scratch);
                            ready = count;
                        }
                        else if (wide && WideDots(headDim))
                        {
                            ready = count & ~15;
                            if (ready > 0) KeyDots16(qp, (float*)kh, headDim, ready, sp);
                        }
                        if (positions is null && window is null && softCap == 0 && ready == count) Scale(sp, count, scale);
                        else
                        {
                            for (int j = 0; j < count; j++)
                            {
                                if (positions is not null)
                                {
                                    long distance = queryPosition - positions[j];
                                    if (distance < 0 || (window is int w && distance >= w)) { scores[j] = float.NegativeInfinity; continue; }
                                }
                                else if (window is int w && queryPosition - j >= w) { scores[j] = float.NegativeInfinity; continue; }
                                float s = (j < ready ? scores[j] : wide ? RowOps.Dot(qh, new ReadOnlySpan<float>((float*)kh + ((long)j * headDim), headDim))
                                    : HalfKvRows.Dot(isa, bfloat16, qp, (ushort*)kh + ((long)j * headDim), headDim)) * scale;
                                scores[j] = softCap > 0 ? MathF.Tanh(s / softCap) * softCap : s;
                            }
                        }
                        var oh = new Span<float>(output + ((long)h * headDim), headDim);
                        oh.Clear();
                        if (!Softmax(sp, count)) continue;
                        float* op = output + ((long)h * headDim);
                        if (blockedValues)
                        {
                            new Span<float>(sp + count, padded - count).Clear();
                            if (wide) AddValueBlocks<Float32Lanes>(sp, count, vh, headDim, op, scratch, readPastCount);
                            else if (bfloat16) AddValueBlocks<BFloat16Lanes>(sp, count, vh, headDim, op, scratch);
                            else
                            {
                                Scale(sp, count, HalfRebias); // weights ≤ 1: scaling by 2^112 is exact
                                AddValueBlocks<ScaledHalfLanes>(sp, count, vh, headDim, op, scratch);
                            }
                            continue;
                        }
                        if (wide && WideValues(headDim))
                        {
                            AddScaledValues(sp, count, (float*)vh, headDim, op);
                            continue;
                        }
                        for (int j = 0; j < count; j++)
                        {
                            if (scores[j] == 0) continue;
                            if (wide) RowOps.AddScaled(oh, scores[j], new ReadOnlySpan<float>((float*)vh + ((long)j * headDim), headDim));
                            else HalfKvRows.AddScaled(isa, bfloat16, op, scores[j], (ushort*)vh + ((long)j * headDim), headDim);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }
}
