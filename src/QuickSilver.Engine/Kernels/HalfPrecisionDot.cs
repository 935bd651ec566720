using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// F16/BF16 weights widened to float32 in registers, multiplied by float32 activations (no activation rounding). BF16 is the
/// top half of a float32; an IEEE half becomes one by moving its exponent and mantissa up 13 bits and multiplying by
/// 2^112, which rebiases the exponent and turns half subnormals into float normals exactly (.NET exposes no F16C
/// conversion). Exact for every finite half; weights hold no infinities or NaNs.
/// </summary>
internal static unsafe class HalfPrecisionDot
{
    private const float Rebias = 5.192297e33f; // 2^112

    /// <summary>Σ w·x over <paramref name="count"/> values: the reference every path is tested against.</summary>
    public static float Scalar(bool bfloat16, ushort* w, float* x, int count)
    {
        float sum = 0;
        for (int i = 0; i < count; i++) sum += ToSingle(bfloat16, w[i]) * x[i];
        return sum;
    }

    /// <summary>
    /// Four rows of <paramref name="w"/> (each <paramref name="count"/> values, <paramref name="stride"/> apart) against one
    /// activation row, so that every activation load serves four rows.
    /// </summary>
    public static void Rows4(KernelIsa isa, bool bfloat16, ushort* w, long stride, float* x, int count, float* y)
    {
        if (isa == KernelIsa.Avx512) Rows4Avx512(bfloat16, w, stride, x, count, y);
        else if (isa == KernelIsa.Avx2) Rows4Avx2(bfloat16, w, stride, x, count, y);
        else for (int r = 0; r < 4; r++) y[r] = Scalar(bfloat16, w + (r * stride), x, count);
    }

    /// <summary>One row against one activation row.</summary>
    public static float Row(KernelIsa isa, bool bfloat16, ushort* w, float* x, int count)
    {
        int i = 0;
        float sum = 0;
        if (isa == KernelIsa.Avx512)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= count; i += 16) acc = Avx512F.FusedMultiplyAdd(Widen512(bfloat16, w + i), Avx512F.LoadVector512(x + i), acc);
            sum = Vector512.Sum(acc);
        }
        else if (isa == KernelIsa.Avx2)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= count; i += 8) acc = Fma.MultiplyAdd(Widen256(bfloat16, w + i), Avx.LoadVector256(x + i), acc);
            sum = Vector256.Sum(acc);
        }
        return sum + Scalar(bfloat16, w + i, x + i, count - i);
    }

    private static void Rows4Avx512(bool bfloat16, ushort* w, long stride, float* x, int count, float* y)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 16 <= count; i += 16)
        {
            var xv = Avx512F.LoadVector512(x + i);
            a0 = Avx512F.FusedMultiplyAdd(Widen512(bfloat16, w + i), xv, a0);
            a1 = Avx512F.FusedMultiplyAdd(Widen512(bfloat16, w + stride + i), xv, a1);
            a2 = Avx512F.FusedMultiplyAdd(Widen512(bfloat16, w + (2 * stride) + i), xv, a2);
            a3 = Avx512F.FusedMultiplyAdd(Widen512(bfloat16, w + (3 * stride) + i), xv, a3);
        }
        y[0] = Vector512.Sum(a0) + Scalar(bfloat16, w + i, x + i, count - i);
        y[1] = Vector512.Sum(a1) + Scalar(bfloat16, w + stride + i, x + i, count - i);
        y[2] = Vector512.Sum(a2) + Scalar(bfloat16, w + (2 * stride) + i, x + i, count - i);
        y[3] = Vector512.Sum(a3) + Scalar(bfloat16, w + (3 * stride) + i, x + i, count - i);
    }

    private static void Rows4Avx2(bool bfloat16, ushort* w, long stride, float* x, int count, float* y)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 8 <= count; i += 8)
        {
            var xv = Avx.LoadVector256(x + i);
            a0 = Fma.MultiplyAdd(Widen256(bfloat16, w + i), xv, a0);
            a1 = Fma.MultiplyAdd(Widen256(bfloat16, w + stride + i), xv, a1);
            a2 = Fma.MultiplyAdd(Widen256(bfloat16, w + (2 * stride) + i), xv, a2);
            a3 = Fma.MultiplyAdd(Widen256(bfloat16, w + (3 * stride) + i), xv, a3);
        }
        y[0] = Vector256.Sum(a0) + Scalar(bfloat16, w + i, x + i, count - i);
        y[1] = Vector256.Sum(a1) + Scalar(bfloat16, w + stride + i, x + i, count - i);
        y[2] = Vector256.Sum(a2) + Scalar(bfloat16, w + (2 * stride) + i, x + i, count - i);
        y[3] = Vector256.Sum(a3) + Scalar(bfloat16, w + (3 * stride) + i, x + i, count - i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Widen512(bool bfloat16, ushort* w)
    {
        var bits = Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(w));
        if (bfloat16) return Avx512F.ShiftLeftLogical(bits, 16).AsSingle();
        var magnitude = Avx512F.ShiftLeftLogical(bits & Vector512.Create(0x7FFFu), 13).AsSingle() * Vector512.Create(Rebias);
        return magnitude | Avx512F.ShiftLeftLogical(bits & Vector512.Create(0x8000u), 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Widen256(bool bfloat16, ushort* w)
    {
        var bits = Avx2.ConvertToVector256Int32(Sse2.LoadVector128(w)).AsUInt32();
        if (bfloat16) return Avx2.ShiftLeftLogical(bits, 16).AsSingle();
        var magnitude = Avx2.ShiftLeftLogical(bits & Vector256.Create(0x7FFFu), 13).AsSingle() * Vector256.Create(Rebias);
        return magnitude | Avx2.ShiftLeftLogical(bits & Vector256.Create(0x8000u), 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float ToSingle(bool bfloat16, ushort bits) =>
        bfloat16 ? BitConverter.Int32BitsToSingle(bits << 16) : HalfTable.Values[bits];
}
