namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The AVX-512 VNNI micro-kernels of <see cref="QuantizedGemm"/> as machine code (Kernels/Native/gemm_vnni.c, compiled by
/// build-gemm-vnni.sh into <c>GemmVnniCode.Bytes.cs</c>), copied once into an executable page.
/// </summary>
/// <remarks>
/// Why machine code: .NET 10 emits vpdpbusd only through <c>AvxVnni</c> (the VEX form) and <c>Avx10v1</c>, and a CPU with
/// AVX-512 VNNI but without AVX-VNNI — AMD Zen 4, Intel Ice Lake/Sapphire Rapids servers report both, Zen 4 only the
/// first — reports neither, so the managed GEMM must use vpmaddubsw + vpaddw + vpmaddwd, three instructions where one
/// does (measured on Zen 4: 128 against 195 GMAC/s per core on a 4×16 tile). The kernels compute exactly what the
/// managed ones do (the same exact integer block dots, the same float operations in the same order), so a result is
/// bit-identical on either path. Loaded by <see cref="ExecutableCode"/>; where it cannot run, or with
/// <c>QUICKSILVER_GEMM_VNNI=0</c>, the managed kernels run.
/// </remarks>
internal static unsafe partial class GemmVnniCode
{
    private static readonly nint s_code = ExecutableCode.Load(Code, "QUICKSILVER_GEMM_VNNI");

    /// <summary>Whether the kernels are loaded (CPU with AVX-512 F/BW/VNNI, Linux x64, not switched off).</summary>
    public static bool IsAvailable => s_code != 0;

    /// <summary>
    /// <c>blocks32(w0, w1, w2, w3, offset, d, a, sa, sums, nb, result)</c>: Q4_0 (nibble codes, offset −8) and Q8_0
    /// (codes w + 128, offset −128), 32 code bytes per block and row.
    /// </summary>
    public static delegate* unmanaged[SuppressGCTransition]<byte*, byte*, byte*, byte*, int, float*, byte*, float*, int*, int, float*, void> Blocks32 =>
        (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, byte*, byte*, int, float*, byte*, float*, int*, int, float*, void>)(s_code + Blocks32Offset);

    /// <summary>
    /// <c>kblocks(w0, w1, w2, w3, multipliers, units, pairs, pairsInDot, d, dmin, nb, words, step, a, sa, sums, result)</c>:
    /// the k-quants with units of <c>words</c> 4-code words, unit n of a block weighted by <c>multipliers[(block·64/words + n)·step]</c>.
    /// </summary>
    public static delegate* unmanaged[SuppressGCTransition]<byte*, byte*, byte*, byte*, int*, int, int*, int, float*, float*, int, int, int, byte*, float*, int*, float*, void> KBlocks =>
        (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, byte*, byte*, int*, int, int*, int, float*, float*, int, int, int, byte*, float*, int*, float*, void>)(s_code + KBlocksOffset);
}
