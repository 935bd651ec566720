namespace QuickSilver.Engine.Generation;

/// <summary>Host logits of one step: <see cref="RowCount"/> rows of <see cref="VocabSize"/> floats, row i for the step's i-th scored token.</summary>
public sealed class StepLogits
{
    private readonly float[] _values;

    /// <summary>Wraps <paramref name="values"/> (row-major, rows × vocab; not copied).</summary>
    public StepLogits(float[] values, int rows)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (values.Length % rows != 0) throw new ArgumentException($"{values.Length} logits do not split into {rows} rows.", nameof(values));
        _values = values;
        RowCount = rows;
        VocabSize = values.Length / rows;
    }

    /// <summary>Number of rows.</summary>
    public int RowCount { get; }

    /// <summary>Logits per row.</summary>
    public int VocabSize { get; }

    /// <summary>Row <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Row(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, RowCount);
        return _values.AsSpan(index * VocabSize, VocabSize);
    }

    /// <summary>The last row.</summary>
    public ReadOnlySpan<float> LastRow => Row(RowCount - 1);
}
