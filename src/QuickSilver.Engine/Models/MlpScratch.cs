namespace QuickSilver.Engine.Models;

/// <summary>
/// Per-thread float buffers of the host MLP path (<see cref="SwiGluFeedForward"/>): grown to the largest piece of rows
/// seen, then reused by every piece, layer and prefill on the thread, so their pages are faulted in once.
/// </summary>
internal static class MlpScratch
{
    [ThreadStatic] internal static float[]? t_both;

    /// <summary>The first <paramref name="length"/> floats of <paramref name="buffer"/>, grown when shorter.</summary>
    public static Span<float> Get(ref float[]? buffer, long length)
    {
        if (buffer is null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<float>(checked((int)length));
        return buffer.AsSpan(0, (int)length);
    }
}
