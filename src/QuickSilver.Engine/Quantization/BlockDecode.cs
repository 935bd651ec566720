namespace QuickSilver.Engine.Quantization;

/// <summary>
/// Decodes whole blocks of one ggml tensor type to float32: <paramref name="blocks"/> holds <c>n × BlockBytes</c> bytes
/// and <paramref name="destination"/> receives <c>n × BlockValues</c> values, in file order.
/// </summary>
/// <param name="blocks">Whole blocks as stored in the file (little-endian).</param>
/// <param name="destination">Exactly as many values as the blocks hold.</param>
public delegate void BlockDecode(ReadOnlySpan<byte> blocks, Span<float> destination);
