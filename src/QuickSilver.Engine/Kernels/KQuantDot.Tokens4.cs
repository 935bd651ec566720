using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Prefill and batched decode: one weight row against four activation rows at once (AVX-512, Q4_K and Q6_K, the formats
/// of a Q4_K_M file). Unpacking a block's codes and scales is as much work as one row's multiply-adds, so doing it once
/// for four activation rows, with four sets of accumulators held in registers, cuts the work per token; the integer sums
/// are the same as <see cref="Dot"/>'s and the float steps per row too, so each row gets Dot's bits (see <see cref="Dot4IsExact"/>).
/// </summary>
internal static unsafe partial class KQuantDot
{
    /// <summary>Whether <see cref="Dot4"/> has a path for <paramref name="type"/> on <paramref name="isa"/>.</summary>
    public static bool HasDot4(GgufTensorType type, KernelIsa isa) =>
        isa == KernelIsa.Avx512 && type is GgufTensorType.Q4_K or GgufTensorType.Q6_K;

    /// <summary>
    /// Whether <see cref="Dot4"/> gives each activation row the bits of <see cref="Dot"/> on <paramref name="isa"/>: both
    /// form the same exact int32 lanes per block (integer sums, in any order) and then take the same float steps per row
    /// (convert, one FMA per block, the same final sums). Q4_K's Dot is that kernel only with the decode kernels on.
    /// </summary>
    public static bool Dot4IsExact(GgufTensorType type, KernelIsa isa) =>
        HasDot4(type, isa) && (type == GgufTensorType.Q6_K || KernelSettings.DecodeKernel);

    /// <summary>
    /// Row <paramref name="w"/> · activation rows 0..3 (codes in <see cref="Q8KActivations.CodesFor"/> order, <paramref name="columns"/> apart, scales and sums
    /// <paramref name="nb"/> blocks apart) into <paramref name="result"/>[0..3].
    /// </summary>
    public static void Dot4(GgufTensorType type, byte* w, sbyte* a, int columns, float* sa, short* sums, int nb, float* result)
    {
        if (type == GgufTensorType.Q4_K) Q4_KAvx512x4(w, a, columns, sa, sums, nb, result);
        else Q6_KAvx512x4(w, a, columns, sa, sums, nb, result);
    }

    private static void Q6_KAvx512x4(byte* w, sbyte* a, int columns, float* sa, short* sums, int nb, float* result)
    {
        float* half = HalfPointer;
        var low = Vector512.Create((byte)0x0F);
        var top = Vector256.Create((byte)0x30);
        var spread = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var four = Vector512.Create((short)4);
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ6_K.Bytes);
            WeightPrefetch.Block(x, 4);
            var scales16 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)x + 192));
            var scales = Vector512.Create(scales16, scales16);
            Vector512<int> s0 = Q6_KOffset(scales16, sums + (b * 16)), s1 = Q6_KOffset(scales16, sums + ((nb + b) * 16));
            Vector512<int> s2 = Q6_KOffset(scales16, sums + (((2 * nb) + b) * 16)), s3 = Q6_KOffset(scales16, sums + (((3 * nb) + b) * 16));
            var index = spread;
            for (int h = 0; h < 2; h++)
            {
                var ql = Avx512BW.LoadVector512(x + (64 * h));
                var qh = Avx.LoadVector256(x + 128 + (32 * h)).AsUInt16();
                var qa = (ql & low) | Vector512.Create(Avx2.ShiftLeftLogical(qh, 4).AsByte() & top, Avx2.ShiftLeftLogical(qh, 2).AsByte() & top);
                var qb = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & low) | Vector512.Create(qh.AsByte() & top, Avx2.ShiftRightLogical(qh, 2).AsByte() & top);
                var scaleA = Avx512BW.PermuteVar32x16(scales, index);
                var scaleB = Avx512BW.PermuteVar32x16(scales, index + four);
                index += four + four;
                sbyte* ah = a + (b * 256) + (128 * h);
                s0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qa, Avx512BW.LoadVector512(ah)), scaleA)
                    + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qb, Avx512BW.LoadVector512(ah + 64)), scaleB);
                ah += columns;
                s1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qa, Avx512BW.LoadVector512(ah)), scaleA)
                    + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qb, Avx512BW.LoadVector512(ah + 64)), scaleB);
                ah += columns;
                s2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qa, Avx512BW.LoadVector512(ah)), scaleA)
                    + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qb, Avx512BW.LoadVector512(ah + 64)), scaleB);
                ah += columns;
                s3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qa, Avx512BW.LoadVector512(ah)), scaleA)
                    + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qb, Avx512BW.LoadVector512(ah + 64)), scaleB);
            }
            float d = half[*(ushort*)(x + 208)];
            acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(s0), Vector512.Create(d * sa[b]), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(s1), Vector512.Create(d * sa[nb + b]), acc1);
            acc2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(s2), Vector512.Create(d * sa[(2 * nb) + b]), acc2);
            acc3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(s3), Vector512.Create(d * sa[(3 * nb) + b]), acc3);
        }
        result[0] = Vector512.Sum(acc0);
        result[1] = Vector512.Sum(acc1);
        result[2] = Vector512.Sum(acc2);
        result[3] = Vector512.Sum(acc3);
    }

    /// <summary>Q6_K's −32 code offset for one activation row, through its 16-value sums, as a start value of the int32 lanes.</summary>
    private static Vector512<int> Q6_KOffset(Vector256<short> scales, short* sums) =>
        Vector512.Create(Vector256<int>.Zero - Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(scales, Avx.LoadVector256(sums)), 5), Vector256<int>.Zero);
}
