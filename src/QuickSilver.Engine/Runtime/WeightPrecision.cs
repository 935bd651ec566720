namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The width each row of the current block's input reads the weights at (8, 4 or 2 bits), set by the routed forward for
/// the layers after the quantization decision layer and read by <see cref="Models.BitPlaneLinearWeight"/>. Ambient per
/// thread (a forward runs on one thread), so the blocks and feed-forwards between the runner and the weights need no
/// new parameter; outside a scope every weight is read at full width.
/// </summary>
/// <remarks>
/// The output head has widths of its own (<see cref="HeadRowBits"/>): the paper's decision covers the blocks after the
/// decision layer, and the head is not one of them, so it reads its rows at full width unless a scope says otherwise
/// (<c>QuantizationPolicy.QuantizeHead</c>).
/// </remarks>
public static class WeightPrecision
{
    [ThreadStatic] private static int[]? t_rowBits;
    [ThreadStatic] private static int[]? t_headBits;

    /// <summary>The widths of the current scope, one per input row, or null (full width).</summary>
    public static int[]? RowBits => t_rowBits;

    /// <summary>The widths the output head reads its rows at in the current scope, one per logits row, or null (full width).</summary>
    public static int[]? HeadRowBits => t_headBits;

    /// <summary>
    /// Reads the block weights at <paramref name="rowBits"/> (one width per input row) and the head at
    /// <paramref name="headRowBits"/> (one per logits row) until the returned scope is disposed; null means full width.
    /// </summary>
    public static Scope Use(int[]? rowBits, int[]? headRowBits = null)
    {
        var scope = new Scope(t_rowBits, t_headBits);
        (t_rowBits, t_headBits) = (rowBits, headRowBits);
        return scope;
    }

    /// <summary>The scope the head is applied in: the head's widths become the weights' widths.</summary>
    internal static Scope ForHead() => Use(t_headBits, t_headBits);

    /// <summary>Restores the enclosing widths when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly int[]? _previous, _previousHead;

        internal Scope(int[]? previous, int[]? previousHead) => (_previous, _previousHead) = (previous, previousHead);

        /// <inheritdoc />
        public void Dispose() => (t_rowBits, t_headBits) = (_previous, _previousHead);
    }
}
