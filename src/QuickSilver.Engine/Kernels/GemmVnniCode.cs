using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

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
/// bit-identical on either path. Only on Linux x64 (mmap/mprotect from libc); anywhere else, or when the page cannot be
/// made executable, or with <c>QUICKSILVER_GEMM_VNNI=0</c>, the managed kernels run.
/// </remarks>
internal static unsafe partial class GemmVnniCode
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    private static readonly nint s_code = Load();

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

    /// <summary>Whether this CPU reports AVX-512 VNNI (CPUID leaf 7, ECX bit 11) beside AVX-512 F and BW.</summary>
    public static bool CpuHasAvx512Vnni() =>
        X86Base.IsSupported && Avx512F.IsSupported && Avx512BW.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;

    private static nint Load()
    {
        if (!EnvironmentSwitch.Read("QUICKSILVER_GEMM_VNNI", defaultValue: true)) return 0;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 || !CpuHasAvx512Vnni()) return 0;
        try
        {
            ReadOnlySpan<byte> code = Code;
            nuint size = (nuint)((code.Length + 4095) & ~4095);
            nint page = MMap(0, size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (page == -1) return 0;
            code.CopyTo(new Span<byte>((void*)page, code.Length));
            if (MProtect(page, size, ProtRead | ProtExec) != 0) return 0; // W^X policy (SELinux execmem): stay managed
            return page;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }

    [DllImport("libc", EntryPoint = "mmap")]
    private static extern nint MMap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "mprotect")]
    private static extern int MProtect(nint address, nuint length, int protection);
}
