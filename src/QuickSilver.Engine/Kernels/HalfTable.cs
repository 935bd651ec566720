namespace QuickSilver.Engine.Kernels;

/// <summary>
/// IEEE-half bits → float32 for all 65,536 codes (256 KiB). A block scale is one table load instead of a software
/// conversion (.NET exposes no F16C intrinsic), as ggml does on CPUs without a native half type.
/// </summary>
internal static class HalfTable
{
    /// <summary>The table, pinned so kernels may index it through a pointer.</summary>
    public static readonly float[] Values = Build();

    private static float[] Build()
    {
        float[] table = GC.AllocateUninitializedArray<float>(65536, pinned: true);
        for (int i = 0; i < table.Length; i++) table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        return table;
    }
}
