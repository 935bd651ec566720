using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The K/V cache's 16-bit rows (IEEE half or bfloat16) for the decode row path: float32 rounded to them when a token is
/// appended, and widened back in registers when attention reads them (<see cref="HalfPrecisionDot"/>'s exact widening;
/// .NET 10 exposes no F16C/AVX-512 half conversion). Narrowing matches libtorch's <c>to(float16 | bfloat16)</c> bit for bit,
/// so the tensor path and the row path store the same values.
/// </summary>
internal static unsafe class HalfKvRows
{
    /// <summary>float32 → 16-bit code, rounded to nearest even (NaN stays NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Narrow(bool bfloat16, float x)
    {
        if (!bfloat16) return BitConverter.HalfToUInt16Bits((Half)x);
        if (float.IsNaN(x)) return 0x7FC0;
        // c10::BFloat16's round_to_nearest_even: add 0x7FFF plus the bit that survives, then truncate.
        uint bits = BitConverter.SingleToUInt32Bits(x);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>Narrows <paramref name="source"/> into <paramref name="destination"/> (as many values).</summary>
    public static void Narrow(bool bfloat16, ReadOnlySpan<float> source, ushort* destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = Narrow(bfloat16, source[i]);
    }

    /// <summary>One stored code as float32 (exact).</summary>
    public static float Widen(bool bfloat16, ushort code) => HalfPrecisionDot.ToSingle(bfloat16, code);

    /// <summary>q·k over <paramref name="count"/> values, k stored 16-bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(KernelIsa isa, bool bfloat16, float* q, ushort* k, int count) => HalfPrecisionDot.Row(isa, bfloat16, k, q, count);

    /// <summary>The reference of <see cref="AddScaled"/>: y[i] = fma(a, widen(x[i]), y[i]).</summary>
    public static void AddScaledScalar(bool bfloat16, float* y, float a, ushort* x, int count)
    {
        for (int i = 0; i < count; i++) y[i] = MathF.FusedMultiplyAdd(a, Widen(bfloat16, x[i]), y[i]);
    }

    /// <summary>
    /// y += a·x over <paramref name="count"/> values, x stored 16-bit (attention's weighted sum of values). Every path does one
    /// fused multiply-add per element on the exactly widened value, so all agree with <see cref="AddScaledScalar"/> bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(KernelIsa isa, bool bfloat16, float* y, float a, ushort* x, int count)
    {
        int i = 0;
        if (isa == KernelIsa.Avx512)
        {
            var va = Vector512.Create(a);
            for (; i + 16 <= count; i += 16)
                Avx512F.Store(y + i, Avx512F.FusedMultiplyAdd(va, HalfPrecisionDot.Widen512(bfloat16, x + i), Avx512F.LoadVector512(y + i)));
        }
        else if (isa == KernelIsa.Avx2)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= count; i += 8)
                Avx.Store(y + i, Fma.MultiplyAdd(va, HalfPrecisionDot.Widen256(bfloat16, x + i), Avx.LoadVector256(y + i)));
        }
        AddScaledScalar(bfloat16, y + i, a, x + i, count - i);
    }
}
