using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Four Q6_K rows block by block, interleaved (GFNI path): the four rows' independent chains overlap and each activation
/// block is loaded once for the four. Each row takes the steps of <see cref="Q6_KAvx512Lanes"/>'s GFNI loop (exact int32
/// lanes, then one convert and one FMA per block in block order), so its bits are <see cref="Dot"/>'s.
/// </summary>
internal static unsafe partial class KQuantDot
{
    private static Vector128<float> Q6_KRows4Interleaved(byte* w, int rowBytes, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var spread = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var four = Vector512.Create((short)4);
        var gfniLow = Vector512.Create(Vector256.Create(0x01020000UL), Vector256.Create(0x04080000UL)).AsByte();
        var gfniHigh = Vector512.Create(Vector256.Create(0x10200000UL), Vector256.Create(0x40800000UL)).AsByte();
        var indices = new Q6_KIndices(spread, spread + four, spread + four + four, spread + four + four + four, gfniLow, gfniHigh);
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ6_K.Bytes);
            sbyte* q8 = a + (b * 256);
            var a0 = Avx512BW.LoadVector512(q8);
            var a1 = Avx512BW.LoadVector512(q8 + 64);
            var a2 = Avx512BW.LoadVector512(q8 + 128);
            var a3 = Avx512BW.LoadVector512(q8 + 192);
            var blockSums = Avx.LoadVector256(sums + (b * 16));
            float s = sa[b];
            acc0 = Q6_KRowBlock(x, a0, a1, a2, a3, blockSums, s, half, indices, acc0);
            acc1 = Q6_KRowBlock(x + rowBytes, a0, a1, a2, a3, blockSums, s, half, indices, acc1);
            acc2 = Q6_KRowBlock(x + (2 * rowBytes), a0, a1, a2, a3, blockSums, s, half, indices, acc2);
            acc3 = Q6_KRowBlock(x + (3 * rowBytes), a0, a1, a2, a3, blockSums, s, half, indices, acc3);
        }
        return DecodeMatVec.Sum4(acc0, acc1, acc2, acc3);
    }

    /// <summary>The scale-spreading indices and GFNI matrices of the Q6_K loop (see <see cref="Q6_KAvx512Lanes"/>).</summary>
    private readonly record struct Q6_KIndices(Vector512<short> Spread0, Vector512<short> Spread4, Vector512<short> Spread8, Vector512<short> Spread12,
        Vector512<byte> GfniLow, Vector512<byte> GfniHigh);

    /// <summary>One block of one row: the GFNI loop body of <see cref="Q6_KAvx512Lanes"/> with the activation block loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q6_KRowBlock(byte* x, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3,
        Vector256<short> sums, float sa, float* half, in Q6_KIndices k, Vector512<float> acc)
    {
        WeightPrefetch.Block(x, 4);
        var scales16 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)x + 192));
        var scales = Join(scales16.AsByte(), scales16.AsByte()).AsInt16();
        var offset = Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(scales16, sums), 5);
        var sumi = (Vector256<int>.Zero - offset).ToVector512(); // upper half zero
        sumi += Q6_KHalfDots(x, a0, a1, scales, k.Spread0, k.Spread4, k.GfniLow, k.GfniHigh, qhOffset: 128);
        sumi += Q6_KHalfDots(x + 64, a2, a3, scales, k.Spread8, k.Spread12, k.GfniLow, k.GfniHigh, qhOffset: 128 + 32 - 64);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(half[*(ushort*)(x + 208)] * sa), acc);
    }
}
