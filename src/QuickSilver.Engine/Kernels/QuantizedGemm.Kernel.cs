using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The micro-kernels: 4 weight rows × 16 tokens, one 512-bit vector of 16 tokens per row. Each step broadcasts one row's
/// word of 4 unsigned codes and vpmaddubsw's it against the 16 tokens' 4 activation codes; int16 partial sums run over a
/// unit of codes short enough never to saturate (32 values for 4-bit codes, 16 for 5-bit, 8 for 6-bit), then vpmaddwd by
/// the unit's multiplier (1, 16 or the sub-block scale) widens them into int32. Every (row, token) lane runs the same
/// operations in the same order whichever tile, group or thread it falls in, so a result depends only on its row and its
/// token: per block the exact integer dot is converted and added with one FMA by <c>d_w·s_a</c> (then, for Q4_K/Q5_K, the
/// minimum term with one FMA by <c>−dmin_w·s_a</c>), in block order.
/// </summary>
internal static unsafe partial class QuantizedGemm
{
    /// <summary>
    /// Q8_0 (<paramref name="planes"/> 2: low and high nibble codes, 64 bytes per block) and Q4_0 (1 plane, 32 bytes per
    /// block); the code offset (−128 or −8) times the activations' block sum starts each block's integer dot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocks32(byte* w0, byte* w1, byte* w2, byte* w3, int planes, int offset, float* d, byte* a, float* sa, int* sums, int nb, float* result)
    {
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        var one = Vector512.Create((short)1);
        var sixteen = Vector512.Create((short)16);
        var codeOffset = Vector512.Create(offset);
        int stride = 32 * planes;
        for (int b = 0; b < nb; b++)
        {
            var i0 = Avx512F.MultiplyLow(Avx512F.LoadVector512(sums + (b * 16)), codeOffset);
            var i1 = i0; var i2 = i0; var i3 = i0;
            for (int p = 0; p < planes; p++)
            {
                Vector512<short> h0 = default, h1 = default, h2 = default, h3 = default;
                byte* ab = a + (b * 512);
                int k = (b * stride) + (32 * p);
                for (int g = 0; g < 8; g++, ab += 64, k += 4)
                {
                    var av = Avx512BW.LoadVector512((sbyte*)ab);
                    h0 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w0 + k)).AsByte(), av);
                    h1 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w1 + k)).AsByte(), av);
                    h2 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w2 + k)).AsByte(), av);
                    h3 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w3 + k)).AsByte(), av);
                }
                var m = p == 0 ? one : sixteen;
                i0 += Avx512BW.MultiplyAddAdjacent(h0, m);
                i1 += Avx512BW.MultiplyAddAdjacent(h1, m);
                i2 += Avx512BW.MultiplyAddAdjacent(h2, m);
                i3 += Avx512BW.MultiplyAddAdjacent(h3, m);
            }
            var s = Avx512F.LoadVector512(sa + (b * 16));
            f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i0), s * d[b], f0);
            f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i1), s * d[nb + b], f1);
            f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i2), s * d[(2 * nb) + b], f2);
            f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i3), s * d[(3 * nb) + b], f3);
        }
        Store(result, f0, f1, f2, f3);
    }

    /// <summary>
    /// The k-quants: units of <paramref name="words"/> 4-code words, each weighted by its row's multiplier, then per block
    /// the 8 pair terms over the activations' 16-value sums: added into the integer dot (<paramref name="pairsInDot"/>,
    /// Q6_K's offset) or scaled by −dmin (Q4_K/Q5_K's minimums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KBlocks(byte* w0, byte* w1, byte* w2, byte* w3, int* multipliers, int units, int* pairs, bool pairsInDot, float* d, float* dmin,
        int nb, int words, byte* a, float* sa, int* sums, float* result)
    {
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        int perBlock = 64 / words;
        int* m1 = multipliers + units, m2 = m1 + units, m3 = m2 + units;
        for (int b = 0; b < nb; b++)
        {
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            byte* ab = a + (b * 4096);
            int k = b * 256, u = b * perBlock;
            for (int n = 0; n < perBlock; n++, u++)
            {
                Vector512<short> h0 = default, h1 = default, h2 = default, h3 = default;
                for (int g = 0; g < words; g++, ab += 64, k += 4)
                {
                    var av = Avx512BW.LoadVector512((sbyte*)ab);
                    h0 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w0 + k)).AsByte(), av);
                    h1 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w1 + k)).AsByte(), av);
                    h2 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w2 + k)).AsByte(), av);
                    h3 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(w3 + k)).AsByte(), av);
                }
                i0 += Avx512BW.MultiplyAddAdjacent(h0, Vector512.Create(multipliers[u]).AsInt16());
                i1 += Avx512BW.MultiplyAddAdjacent(h1, Vector512.Create(m1[u]).AsInt16());
                i2 += Avx512BW.MultiplyAddAdjacent(h2, Vector512.Create(m2[u]).AsInt16());
                i3 += Avx512BW.MultiplyAddAdjacent(h3, Vector512.Create(m3[u]).AsInt16());
            }
            Vector512<int> p0 = default, p1 = default, p2 = default, p3 = default;
            int* bs = sums + (b * 128);
            int* q = pairs + (b * 8);
            for (int p = 0; p < 8; p++, bs += 16, q++)
            {
                var sv = Avx512F.LoadVector512(bs).AsInt16();
                p0 += Avx512BW.MultiplyAddAdjacent(sv, Vector512.Create(q[0]).AsInt16());
                p1 += Avx512BW.MultiplyAddAdjacent(sv, Vector512.Create(q[8 * nb]).AsInt16());
                p2 += Avx512BW.MultiplyAddAdjacent(sv, Vector512.Create(q[16 * nb]).AsInt16());
                p3 += Avx512BW.MultiplyAddAdjacent(sv, Vector512.Create(q[24 * nb]).AsInt16());
            }
            var s = Avx512F.LoadVector512(sa + (b * 16));
            if (pairsInDot)
            {
                i0 += p0; i1 += p1; i2 += p2; i3 += p3;
            }
            f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i0), s * d[b], f0);
            f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i1), s * d[nb + b], f1);
            f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i2), s * d[(2 * nb) + b], f2);
            f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i3), s * d[(3 * nb) + b], f3);
            if (pairsInDot) continue;
            f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p0), s * dmin[b], f0);
            f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p1), s * dmin[nb + b], f1);
            f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p2), s * dmin[(2 * nb) + b], f2);
            f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p3), s * dmin[(3 * nb) + b], f3);
        }
        Store(result, f0, f1, f2, f3);
    }

    // result[r·16 + t]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* result, Vector512<float> f0, Vector512<float> f1, Vector512<float> f2, Vector512<float> f3)
    {
        Avx512F.Store(result, f0);
        Avx512F.Store(result + 16, f1);
        Avx512F.Store(result + 32, f2);
        Avx512F.Store(result + 48, f3);
    }
}
