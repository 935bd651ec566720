using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// One weight row · one float32 activation row, decoding each block on the fly: the exact path (no activation rounding),
/// which agrees with a float matrix product on the decoded weights to float32 rounding. Slower than <see cref="BlockDot"/>
/// (a convert and a multiply per weight instead of an 8-bit multiply-add), so opt-in.
/// </summary>
internal static unsafe class FloatBlockDot
{
    public static float Q8_0(bool simd, byte* w, ushort* ws, float* x, int nb)
    {
        float* half = Table;
        if (!simd || !Vector256.IsHardwareAccelerated)
        {
            float sum = 0;
            for (int b = 0; b < nb; b++)
            {
                float d = half[ws[b]], block = 0;
                sbyte* q = (sbyte*)w + (b * 32);
                for (int i = 0; i < 32; i++) block += q[i] * x[(b * 32) + i];
                sum += d * block;
            }
            return sum;
        }
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            var d = Vector256.Create(half[ws[b]]);
            var codes = Vector256.Load((sbyte*)w + (b * 32));
            var (s0, s1) = Vector256.Widen(codes);
            var (i0, i1) = Vector256.Widen(s0);
            var (i2, i3) = Vector256.Widen(s1);
            float* xb = x + (b * 32);
            var block = (Vector256.ConvertToSingle(i0) * Vector256.Load(xb)) + (Vector256.ConvertToSingle(i1) * Vector256.Load(xb + 8))
                + (Vector256.ConvertToSingle(i2) * Vector256.Load(xb + 16)) + (Vector256.ConvertToSingle(i3) * Vector256.Load(xb + 24));
            acc += block * d;
        }
        return Vector256.Sum(acc);
    }

    public static float Q4_0(bool simd, byte* w, ushort* ws, float* x, int nb)
    {
        float* half = Table;
        if (!simd || !Vector256.IsHardwareAccelerated)
        {
            float sum = 0;
            for (int b = 0; b < nb; b++)
            {
                float d = half[ws[b]], block = 0;
                for (int i = 0; i < 16; i++)
                {
                    byte q = w[Q4_0Layout.Offset(nb, b, i)];
                    block += (((q & 0x0F) - 8) * x[(b * 32) + i]) + (((q >> 4) - 8) * x[(b * 32) + i + 16]);
                }
                sum += d * block;
            }
            return sum;
        }
        var acc = Vector256<float>.Zero;
        var low = Vector128.Create((byte)0x0F);
        var eight = Vector128.Create((sbyte)8);
        for (int b = 0; b < nb; b++)
        {
            var d = Vector256.Create(half[ws[b]]);
            var packed = Q4_0Layout.LoadBlock(w, nb, b);
            var lo = (packed & low).AsSByte() - eight;                 // elements 0..15
            var hi = Vector128.ShiftRightLogical(packed, 4).AsSByte() - eight; // elements 16..31
            float* xb = x + (b * 32);
            var block = (ToSingle(lo, low: true) * Vector256.Load(xb)) + (ToSingle(lo, low: false) * Vector256.Load(xb + 8))
                + (ToSingle(hi, low: true) * Vector256.Load(xb + 16)) + (ToSingle(hi, low: false) * Vector256.Load(xb + 24));
            acc += block * d;
        }
        return Vector256.Sum(acc);
    }

    /// <summary>Eight of sixteen int8 values (the low or high half) as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ToSingle(Vector128<sbyte> values, bool low)
    {
        var shorts = low ? Vector128.WidenLower(values) : Vector128.WidenUpper(values);
        return Vector256.ConvertToSingle(Vector256.Create(Vector128.WidenLower(shorts), Vector128.WidenUpper(shorts)));
    }

    private static float* Table => (float*)Unsafe.AsPointer(ref HalfTable.Values[0]);
}
