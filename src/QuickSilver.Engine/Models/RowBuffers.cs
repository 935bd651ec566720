namespace QuickSilver.Engine.Models;

/// <summary>
/// Per-thread scratch rows for the decode row path, grown on demand and reused every token, so a decode step allocates
/// nothing per layer. A slot is owned by one caller at a time: each module uses its own slot numbers.
/// </summary>
internal static class RowBuffers
{
    /// <summary>Slots: the block's normalized input, q|k|v, attention output, projection output, MLP in/out.</summary>
    public const int Normalized = 0, Qkv = 1, Attended = 2, Projected = 3, MlpHidden = 4, MlpBoth = 5, MlpOut = 6, Model = 7, Count = 8;

    [ThreadStatic] private static float[]?[]? t_slots;

    /// <summary>A span of <paramref name="length"/> values of slot <paramref name="slot"/> (contents undefined).</summary>
    public static Span<float> Get(int slot, int length)
    {
        var slots = t_slots ??= new float[]?[Count];
        var buffer = slots[slot];
        if (buffer is null || buffer.Length < length) slots[slot] = buffer = GC.AllocateUninitializedArray<float>(Math.Max(length, 64), pinned: true);
        return buffer.AsSpan(0, length);
    }
}
