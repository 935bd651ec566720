using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// One bit-plane weight row (<see cref="BitPlaneMatrix"/>) · one 8-bit activation row (<see cref="PlaneActivations"/>),
/// reading only the planes of the requested width. Per block, with unsigned plane codes u and activation codes a:
/// 8 bits <c>Σ(16·hi + lo)·a − 128·Σa</c>, 4 bits <c>16·Σhi·a − 120·Σa</c>, 2 bits <c>64·Σtop·a − 96·Σa</c>
/// (hi = top·4 + middle), times the two block scales. The integer part is exact on every path.
/// </summary>
internal static unsafe class PlaneDot
{
    /// <summary>The row dot at <paramref name="bits"/> on path <paramref name="isa"/>; <paramref name="nsb"/> super-blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(KernelIsa isa, int bits, byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int* sums, int nsb) => isa switch
    {
        KernelIsa.Avx512 => bits switch
        {
            8 => Avx512Bits8(top, middle, low, ws, a, sa, sums, nsb),
            4 => Avx512Bits4(top, middle, ws, a, sa, sums, nsb),
            _ => Avx512Bits2(top, ws, a, sa, sums, nsb),
        },
        KernelIsa.Avx2 => Avx2Dot(bits, top, middle, low, ws, a, sa, sums, nsb),
        _ => Scalar(bits, top, middle, low, ws, a, sa, nsb),
    };

    /// <summary>The portable definition every SIMD path is tested against.</summary>
    public static float Scalar(int bits, byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int nsb)
    {
        float* half = Table;
        float sum = 0;
        for (int s = 0; s < nsb; s++)
        {
            for (int k = 0; k < 4; k++)
            {
                int b = (4 * s) + k, dot = 0, asum = 0;
                sbyte* ab = a + (b * 32);
                for (int j = 0; j < 32; j++)
                {
                    int t = (top[(s * 32) + j] >> (2 * k)) & 3;
                    asum += ab[j];
                    if (bits == 2) { dot += 64 * t * ab[j]; continue; }
                    int hi = (t << 2) | ((middle[(s * 32) + j] >> (2 * k)) & 3);
                    if (bits == 4) { dot += 16 * hi * ab[j]; continue; }
                    int e = (32 * k) + j;
                    int lo = e < 64 ? low[(s * 64) + e] & 0x0F : low[(s * 64) + e - 64] >> 4;
                    dot += ((16 * hi) + lo) * ab[j];
                }
                dot -= (bits == 8 ? 128 : bits == 4 ? 120 : 96) * asum;
                sum += half[ws[b]] * sa[b] * dot;
            }
        }
        return sum;
    }

    private static float Avx2Dot(int bits, byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int* sums, int nsb)
    {
        float* half = Table;
        var three = Vector256.Create((byte)3);
        var fifteen = Vector256.Create((byte)15);
        var multiplier = Vector256.Create((short)(bits == 2 ? 64 : 16));
        var ones = Vector256.Create((short)1);
        var offset = Vector256.Create(bits == 8 ? -128 : bits == 4 ? -120 : -96);
        var acc = Vector256<float>.Zero;
        for (int s = 0; s < nsb; s++)
        {
            var t = Avx.LoadVector256(top + (s * 32)).AsUInt16();
            var m = bits == 2 ? default : Avx.LoadVector256(middle + (s * 32)).AsUInt16();
            var l0 = bits == 8 ? Avx.LoadVector256(low + (s * 64)).AsUInt16() : default;
            var l1 = bits == 8 ? Avx.LoadVector256(low + (s * 64) + 32).AsUInt16() : default;
            for (int k = 0; k < 4; k++)
            {
                int b = (4 * s) + k;
                var av = Avx.LoadVector256(a + (b * 32));
                var tk = Vector256.ShiftRightLogical(t, 2 * k).AsByte() & three;
                Vector256<int> ints;
                if (bits == 2)
                {
                    ints = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(tk, av), multiplier);
                }
                else
                {
                    var hk = Avx2.ShiftLeftLogical(tk.AsUInt16(), 2).AsByte() | (Vector256.ShiftRightLogical(m, 2 * k).AsByte() & three);
                    ints = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(hk, av), multiplier);
                    if (bits == 8)
                    {
                        var lk = (k & 1) == 0 ? l0 : l1;
                        var nib = (k < 2 ? lk.AsByte() : Avx2.ShiftRightLogical(lk, 4).AsByte()) & fifteen;
                        ints = Avx2.Add(ints, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nib, av), ones));
                    }
                }
                ints = Avx2.Add(ints, Avx2.MultiplyLow(Avx.LoadVector256(sums + (b * 8)), offset));
                acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(ints), Vector256.Create(half[ws[b]] * sa[b]), acc);
            }
        }
        return Vector256.Sum(acc);
    }

    private static float Avx512Bits2(byte* top, ushort* ws, sbyte* a, float* sa, int* sums, int nsb)
    {
        float* half = Table;
        var three = Vector512.Create((byte)3);
        var multiplier = Vector512.Create((short)64);
        var offset = Vector512.Create(-96);
        var acc = Vector512<float>.Zero;
        for (int s = 0; s < nsb; s++)
        {
            var t256 = Avx.LoadVector256(top + (s * 32)).AsUInt16();
            var t = Vector512.Create(t256, Avx2.ShiftRightLogical(t256, 2)); // low half: block 0 in bits 0–1; high half: block 1
            int b = 4 * s;
            var t01 = t.AsByte() & three;
            var t23 = Avx512BW.ShiftRightLogical(t, 4).AsByte() & three;
            acc = Accumulate(acc, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(t01, Avx512BW.LoadVector512(a + (b * 32))), multiplier), sums, offset, half, ws, sa, b);
            acc = Accumulate(acc, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(t23, Avx512BW.LoadVector512(a + (b * 32) + 64)), multiplier), sums, offset, half, ws, sa, b + 2);
        }
        return Vector512.Sum(acc);
    }

    private static float Avx512Bits4(byte* top, byte* middle, ushort* ws, sbyte* a, float* sa, int* sums, int nsb)
    {
        float* half = Table;
        var three = Vector512.Create((byte)3);
        var twelve = Vector512.Create((byte)12);
        var multiplier = Vector512.Create((short)16);
        var offset = Vector512.Create(-120);
        var acc = Vector512<float>.Zero;
        for (int s = 0; s < nsb; s++)
        {
            var t256 = Avx.LoadVector256(top + (s * 32)).AsUInt16();
            var m256 = Avx.LoadVector256(middle + (s * 32)).AsUInt16();
            // (top ≪ 2) | middle per 2-bit field: fields 0,1 of both halves hold blocks 0,1; fields 2,3 blocks 2,3.
            var t = Vector512.Create(Avx2.ShiftLeftLogical(t256, 2), t256).AsUInt16();
            var m = Vector512.Create(m256, Avx2.ShiftRightLogical(m256, 2)).AsUInt16();
            int b = 4 * s;
            var h01 = (t.AsByte() & twelve) | (m.AsByte() & three);
            var h23 = (Avx512BW.ShiftRightLogical(t, 4).AsByte() & twelve) | (Avx512BW.ShiftRightLogical(m, 4).AsByte() & three);
            acc = Accumulate(acc, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(h01, Avx512BW.LoadVector512(a + (b * 32))), multiplier), sums, offset, half, ws, sa, b);
            acc = Accumulate(acc, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(h23, Avx512BW.LoadVector512(a + (b * 32) + 64)), multiplier), sums, offset, half, ws, sa, b + 2);
        }
        return Vector512.Sum(acc);
    }

    private static float Avx512Bits8(byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int* sums, int nsb)
    {
        float* half = Table;
        var three = Vector512.Create((byte)3);
        var twelve = Vector512.Create((byte)12);
        var fifteen = Vector512.Create((byte)15);
        var sixteen = Vector512.Create((short)16);
        var ones = Vector512.Create((short)1);
        var offset = Vector512.Create(-128);
        var acc = Vector512<float>.Zero;
        for (int s = 0; s < nsb; s++)
        {
            var t256 = Avx.LoadVector256(top + (s * 32)).AsUInt16();
            var m256 = Avx.LoadVector256(middle + (s * 32)).AsUInt16();
            var t = Vector512.Create(Avx2.ShiftLeftLogical(t256, 2), t256).AsUInt16();
            var m = Vector512.Create(m256, Avx2.ShiftRightLogical(m256, 2)).AsUInt16();
            var l = Avx512BW.LoadVector512(low + (s * 64));
            int b = 4 * s;
            var h01 = (t.AsByte() & twelve) | (m.AsByte() & three);
            var h23 = (Avx512BW.ShiftRightLogical(t, 4).AsByte() & twelve) | (Avx512BW.ShiftRightLogical(m, 4).AsByte() & three);
            var l01 = l & fifteen;
            var l23 = Avx512BW.ShiftRightLogical(l.AsUInt16(), 4).AsByte() & fifteen;
            var a01 = Avx512BW.LoadVector512(a + (b * 32));
            var a23 = Avx512BW.LoadVector512(a + (b * 32) + 64);
            var i01 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(h01, a01), sixteen) + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(l01, a01), ones);
            var i23 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(h23, a23), sixteen) + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(l23, a23), ones);
            acc = Accumulate(acc, i01, sums, offset, half, ws, sa, b);
            acc = Accumulate(acc, i23, sums, offset, half, ws, sa, b + 2);
        }
        return Vector512.Sum(acc);
    }

    /// <summary>Adds the offset term of blocks b, b+1 (lanes 0–7, 8–15) and accumulates their scaled sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Accumulate(Vector512<float> acc, Vector512<int> ints, int* sums, Vector512<int> offset, float* half, ushort* ws, float* sa, int b)
    {
        ints += Avx512F.MultiplyLow(Avx512F.LoadVector512(sums + (b * 8)), offset);
        var scale = Vector512.Create(Vector256.Create(half[ws[b]] * sa[b]), Vector256.Create(half[ws[b + 1]] * sa[b + 1]));
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(ints), scale, acc);
    }

    private static float* Table => (float*)Unsafe.AsPointer(ref HalfTable.Values[0]);
}
