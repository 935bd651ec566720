namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The width each row of the current block's input reads the weights at (8, 4 or 2 bits), set by the routed forward for
/// the layers after the quantization decision layer and read by <see cref="Models.BitPlaneLinearWeight"/>. Ambient per
/// thread (a forward runs on one thread), so the blocks and feed-forwards between the runner and the weights need no
/// new parameter; outside a scope every weight is read at full width.
/// </summary>
public static class WeightPrecision
{
    [ThreadStatic] private static int[]? t_rowBits;

    /// <summary>The widths of the current scope, one per input row, or null (full width).</summary>
    public static int[]? RowBits => t_rowBits;

    /// <summary>Reads the weights at <paramref name="rowBits"/> (one width per input row) until the returned scope is disposed; null means full width.</summary>
    public static Scope Use(int[]? rowBits)
    {
        var previous = t_rowBits;
        t_rowBits = rowBits;
        return new Scope(previous);
    }

    /// <summary>Restores the enclosing widths when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly int[]? _previous;

        internal Scope(int[]? previous) => _previous = previous;

        /// <inheritdoc />
        public void Dispose() => t_rowBits = _previous;
    }
}
