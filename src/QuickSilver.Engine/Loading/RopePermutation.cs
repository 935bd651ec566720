namespace QuickSilver.Engine.Loading;

/// <summary>
/// Converts q/k projection rows from the Meta / llama2.c / GGUF interleaved RoPE order (pairs 2i, 2i+1 of a head rotate together)
/// to the Hugging Face rotate-half order (pairs i, i + head_dim/2), which is what <see cref="WeightNames"/> stores.
/// </summary>
public static class RopePermutation
{
    /// <summary>
    /// Returns <c>W.reshape(heads, headDim/2, 2, columns).transpose(1, 2).reshape(heads*headDim, columns)</c>.
    /// Use <paramref name="columns"/> = 1 for a bias vector.
    /// </summary>
    /// <param name="rows">Row-major <c>[heads·headDim, columns]</c> values in interleaved order.</param>
    /// <param name="heads">Number of heads the rows hold (query heads for q, key/value heads for k).</param>
    /// <param name="headDim">Width of one head; must be even.</param>
    /// <param name="columns">Row width.</param>
    public static float[] InterleavedToRotateHalf(ReadOnlySpan<float> rows, int heads, int headDim, int columns) =>
        Permute(rows, heads, headDim, columns, toRotateHalf: true);

    /// <summary>The inverse of <see cref="InterleavedToRotateHalf"/> (HF rotate-half rows back to interleaved order), for writers.</summary>
    /// <param name="rows">Row-major <c>[heads·headDim, columns]</c> values in rotate-half order.</param>
    /// <param name="heads">Number of heads the rows hold.</param>
    /// <param name="headDim">Width of one head; must be even.</param>
    /// <param name="columns">Row width.</param>
    public static float[] RotateHalfToInterleaved(ReadOnlySpan<float> rows, int heads, int headDim, int columns) =>
        Permute(rows, heads, headDim, columns, toRotateHalf: false);

    /// <summary>Row (2i + j) of each head in interleaved order is row (j·hs/2 + i) in rotate-half order.</summary>
    private static float[] Permute(ReadOnlySpan<float> rows, int heads, int headDim, int columns, bool toRotateHalf)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if (headDim % 2 != 0) throw new ArgumentException($"Head width {headDim} must be even for RoPE.", nameof(headDim));
        if (rows.Length != (long)heads * headDim * columns)
            throw new ArgumentException($"Expected {(long)heads * headDim * columns} values for [{heads}·{headDim}, {columns}], got {rows.Length}.", nameof(rows));

        var result = new float[rows.Length];
        int half = headDim / 2;
        for (int head = 0; head < heads; head++)
        {
            int baseRow = head * headDim;
            for (int i = 0; i < half; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    int interleaved = baseRow + (2 * i) + j;
                    int rotateHalf = baseRow + (j * half) + i;
                    var (source, destination) = toRotateHalf ? (interleaved, rotateHalf) : (rotateHalf, interleaved);
                    rows.Slice(source * columns, columns).CopyTo(result.AsSpan(destination * columns, columns));
                }
            }
        }
        return result;
    }
}
