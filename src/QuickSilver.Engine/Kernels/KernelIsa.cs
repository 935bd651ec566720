using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The instruction-set paths of the quantized kernels. Every path computes the same integer block dots, so results agree
/// to float rounding; tests force each one on the build machine through <see cref="KernelSettings.Isa"/>.
/// </summary>
public enum KernelIsa
{
    /// <summary>Portable scalar C#: the reference the SIMD paths are tested against.</summary>
    Scalar,
    /// <summary>256-bit AVX2 (maddubs/madd), two blocks in flight.</summary>
    Avx2,
    /// <summary>
    /// 512-bit AVX-512 BW. .NET 10 exposes vpdpbusd only through AVX-VNNI (256-bit, EVEX-encoded where AVX-512 is present)
    /// and AVX10, not as a 512-bit AVX512_VNNI class; the decode kernel uses the 256-bit form where the CPU has it.
    /// </summary>
    Avx512,
}

/// <summary>Process-wide kernel settings: the SIMD path and the number of threads the matrix kernels split rows over.</summary>
public static class KernelSettings
{
    private static KernelIsa _isa = Best;
    private static int _threads = Math.Max(1, Environment.ProcessorCount);

    /// <summary>The widest path this CPU supports.</summary>
    public static KernelIsa Best =>
        Avx512BW.IsSupported ? KernelIsa.Avx512
        : Avx2.IsSupported ? KernelIsa.Avx2
        : KernelIsa.Scalar;

    /// <summary>The path the kernels use (default <see cref="Best"/>).</summary>
    /// <exception cref="PlatformNotSupportedException">The CPU lacks the instructions of the path.</exception>
    public static KernelIsa Isa
    {
        get => _isa;
        set
        {
            if (!IsSupported(value)) throw new PlatformNotSupportedException($"Kernel path {value} needs instructions this CPU lacks (best: {Best}).");
            _isa = value;
        }
    }

    /// <summary>Threads a matrix product is split over (default: the processor count).</summary>
    public static int Threads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _threads = value;
        }
    }

    private static int _gemmMinTokens = 32;

    /// <summary>
    /// Activation rows of one sequence's segment from which a product takes the matrix-matrix (GEMM) kernel instead of
    /// the matrix-vector (decode) kernel (default 32). Applied per sequence, never to a batch's total, so a batched decode
    /// step always takes the per-row kernel and equals the sequence decoded alone bit for bit.
    /// </summary>
    public static int GemmMinTokens
    {
        get => _gemmMinTokens;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _gemmMinTokens = value;
        }
    }

    /// <summary>
    /// Whether products of at least <see cref="GemmMinTokens"/> rows use the register-blocked int8 GEMM where the CPU has
    /// AVX-512 BW (default true); false keeps every product on the per-row kernels.
    /// </summary>
    public static bool MatrixMatrix { get; set; } = true;

    /// <summary>
    /// Whether Q8_0/Q4_0 products on the <see cref="KernelIsa.Avx512"/> path use the 16-blocks-per-step decode kernel
    /// (default true); false keeps the earlier two-blocks-per-step row dot, for comparison in benchmarks.
    /// </summary>
    public static bool DecodeKernel { get; set; } = true;

    /// <summary>
    /// Whether a decode-kernel product of several activation rows (a batched decode step, a verify run) shares the weight-only
    /// work across the rows (<see cref="DecodeMatVecRows"/>; default true). Each row's result is bit-identical either way;
    /// false runs the one-row kernel per row, for comparison in benchmarks.
    /// </summary>
    public static bool MultiRowDecode { get; set; } = true;

    /// <summary>
    /// Whether matrix-vector products fork onto persistent worker threads that spin briefly between products (see
    /// <see cref="RowFork"/>) instead of Parallel.For; the spinning costs CPU on a machine shared with other work.
    /// Default off; the environment variable QUICKSILVER_PERSISTENT_WORKERS=1 turns it on for a whole process (benchmarks).
    /// </summary>
    public static bool PersistentWorkers { get; set; } = EnvironmentSwitch.Read("QUICKSILVER_PERSISTENT_WORKERS", defaultValue: false);

    /// <summary>Whether this CPU can run <paramref name="isa"/>.</summary>
    public static bool IsSupported(KernelIsa isa) => isa switch
    {
        KernelIsa.Scalar => true,
        KernelIsa.Avx2 => Avx2.IsSupported,
        KernelIsa.Avx512 => Avx512BW.IsSupported,
        _ => false,
    };
}
