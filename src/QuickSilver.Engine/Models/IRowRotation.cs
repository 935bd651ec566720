namespace QuickSilver.Engine.Models;

/// <summary>A position rotation that can also rotate one token's heads in host memory (the decode step's path).</summary>
internal interface IRowRotation
{
    /// <summary>Whether the tables are float32 in host memory, so <see cref="RotateRow"/> can run.</summary>
    bool SupportsRows { get; }

    /// <summary>Rotates <paramref name="heads"/> (count · width values) in place for a token at <paramref name="position"/>.</summary>
    void RotateRow(Span<float> heads, int count, int width, long position);
}
