namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// Seeds that are the same in every process. <see cref="HashCode.Combine{T1, T2}"/> is randomized per process, so noise seeded
/// with it made the fakes' logits, and with them sampled runs, differ from one test run to the next (a seeded constrained run
/// sometimes hit its length budget in CI and never locally).
/// </summary>
internal static class StableSeed
{
    /// <summary>Mixes <paramref name="value"/> into <paramref name="seed"/> (FNV-1a over the four bytes).</summary>
    public static int Combine(int seed, int value)
    {
        unchecked
        {
            uint hash = 2166136261u ^ (uint)seed;
            for (int shift = 0; shift < 32; shift += 8)
            {
                hash ^= (byte)(value >> shift);
                hash *= 16777619u;
            }
            return (int)hash;
        }
    }
}
