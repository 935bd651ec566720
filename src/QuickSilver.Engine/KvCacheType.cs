namespace QuickSilver.Engine;

/// <summary>How the K/V cache stores keys and values.</summary>
public enum KvCacheType
{
    /// <summary>float32 (default): attention reads exactly the values the projections produced.</summary>
    Float32,

    /// <summary>
    /// IEEE half (float16, llama.cpp's default): half the memory; keys and values are rounded to nearest even when written
    /// and widened to float32 when read, so a prefill and the decode steps after it attend over the same stored values.
    /// </summary>
    Float16,

    /// <summary>bfloat16: half the memory, float32's range with 8 bits of mantissa (coarser than <see cref="Float16"/>).</summary>
    BFloat16,
}
