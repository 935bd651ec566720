using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Software prefetch for the one-row decode kernels (the k-quants, and the repacked Q8_0/Q4_0 steps of
/// <see cref="DecodeMatVec"/>). A decode step streams every weight once from memory, and one core left
/// to the hardware prefetcher kept only about 10 GB/s of Q6_K (11 of Q4_K) in flight here, against 20–24 with each block
/// asking for the lines 4 KiB ahead (<c>quicksilver matvec --types Q6_K,Q4_K --threads 1</c>, matrices cycled past the
/// caches): the out-of-order window alone covers about a kilobyte of 210-byte blocks. Rows are contiguous, so reading
/// ahead runs on into the next rows; past the matrix's end it touches nothing (a prefetch never faults).
/// For Q8_0/Q4_0, 374M decode with 2 threads, three interleaved runs each way (18:00 UTC, idle): Q8_0 67.9 → 71.8 tok/s,
/// Q4_0 102 → 111 tok/s (medians). <c>QUICKSILVER_WEIGHT_PREFETCH=0</c> turns it off (an A/B switch; the results are the
/// same either way).
/// </summary>
internal static unsafe class WeightPrefetch
{
    /// <summary>Bytes ahead of the block being read.</summary>
    public const int Ahead = 4096;

    /// <summary>Whether the kernels prefetch (read once: the JIT folds it into the loops).</summary>
    public static readonly bool Enabled = EnvironmentSwitch.Read("QUICKSILVER_WEIGHT_PREFETCH", defaultValue: true);

    /// <summary>Asks for <paramref name="lines"/> (≤ 8) 64-byte lines at <paramref name="at"/> + <see cref="Ahead"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines(byte* at, int lines)
    {
        if (!Enabled || !Sse.IsSupported) return;
        byte* p = at + Ahead;
        Sse.Prefetch0(p);
        if (lines > 1) Sse.Prefetch0(p + 64);
        if (lines > 2) Sse.Prefetch0(p + 128);
        if (lines > 3) Sse.Prefetch0(p + 192);
        if (lines > 4) Sse.Prefetch0(p + 256);
        if (lines > 5) Sse.Prefetch0(p + 320);
        if (lines > 6) Sse.Prefetch0(p + 384);
        if (lines > 7) Sse.Prefetch0(p + 448);
    }

    /// <summary>Asks for the lines of a block of up to 192 + 64 bytes at <paramref name="block"/> + <see cref="Ahead"/>: <paramref name="lines"/> of them (3 or 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block(byte* block, int lines)
    {
        if (!Enabled || !Sse.IsSupported) return;
        byte* at = block + Ahead;
        Sse.Prefetch0(at);
        Sse.Prefetch0(at + 64);
        Sse.Prefetch0(at + 128);
        if (lines > 3) Sse.Prefetch0(at + 192);
    }
}
