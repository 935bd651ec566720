namespace QuickSilver.Engine.Quantization;

/// <summary>
/// The packed 6-bit (scale, min) pairs shared by Q4_K and Q5_K: 12 bytes hold eight scales and eight mins, one pair
/// per 32-value sub-block.
/// <code>
/// j &lt; 4:  scale = s[j] &amp; 63                       min = s[j + 4] &amp; 63
/// j ≥ 4:  scale = (s[j + 4] &amp; 15) | (s[j − 4] &gt;&gt; 6) &lt;&lt; 4   min = (s[j + 4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4
/// </code>
/// </summary>
public static class KQuantScales
{
    /// <summary>Bytes of packed scales and mins per 256-value block.</summary>
    public const int Bytes = 12;

    /// <summary>The scale and min of sub-block <paramref name="j"/> (0..7) (ggml's <c>get_scale_min_k4</c>).</summary>
    /// <param name="j">Sub-block index, 0..7.</param>
    /// <param name="scales">The 12 packed bytes.</param>
    public static (int Scale, int Min) ScaleMin(int j, ReadOnlySpan<byte> scales)
    {
        if (j < 4) return (scales[j] & 63, scales[j + 4] & 63);
        return ((scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4), (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}
