using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// A tile of <see cref="Rows"/> weight rows unpacked once for <see cref="QuantizedGemm"/>: small unsigned codes (what
/// vpmaddubsw multiplies: Q4_0 and Q4_K nibbles, Q5_K 5-bit, Q6_K 6-bit codes; Q8_0 split into a low and a high nibble
/// plane, <c>w = 16·(h − 8) + l</c>, or for the VNNI kernels one plane <c>w + 128</c>), row-major, plus per unit of codes the int16 multiplier of its int16 partial sums
/// (the sub-block scale), per block the float scales, and per block 8 pairs of int16 multipliers of the activations'
/// 16-value sums (Q4_K/Q5_K minimums, Q6_K's −32 offset times the scale). Rows past the matrix repeat its last row
/// (their outputs are dropped).
/// </summary>
internal sealed unsafe class GemmWeightRows
{
    /// <summary>Rows per tile.</summary>
    public const int Rows = 4;

    private byte[] _codes = [];
    private int[] _multipliers = [], _pairs = [];
    private float[] _d = [], _dmin = [];
    private int _rowBytes;
    private bool _vnni;

    /// <summary>Multiplier units per row (k-quants: 8 for Q4_K, 16 for Q5_K, 32 for Q6_K per block).</summary>
    public int Units { get; private set; }

    /// <summary>Scale blocks per row (32 values for Q8_0/Q4_0, 256 for the k-quants).</summary>
    public int Blocks { get; private set; }

    /// <summary>Row <paramref name="r"/>'s codes.</summary>
    public byte* Row(byte* codes, int r) => codes + (r * _rowBytes);

    /// <summary>Codes <c>[row][…]</c>, pinned.</summary>
    public byte[] Codes => _codes;

    /// <summary><c>[row][unit]</c> int16 multiplier repeated in both halves of an int (k-quants), pinned.</summary>
    public int[] Multipliers => _multipliers;

    /// <summary><c>[row][block]</c> float block scales, pinned.</summary>
    public float[] D => _d;

    /// <summary><c>[row][block]</c> −dmin (Q4_K/Q5_K), pinned.</summary>
    public float[] NegativeDMin => _dmin;

    /// <summary><c>[row][block][pair]</c> two int16 multipliers of the activations' 16-value sums (k-quants), pinned.</summary>
    public int[] Pairs => _pairs;

    /// <summary>Unpacks rows [<paramref name="first"/>, first + 4) of <paramref name="weights"/> (Q8_0 as one plane for <paramref name="vnni"/>).</summary>
    public void Load(QuantizedMatrix weights, int first, bool vnni = false)
    {
        _vnni = vnni;
        Prepare(weights);
        for (int r = 0; r < Rows; r++) LoadRow(weights, Math.Min(first + r, weights.Rows - 1), r);
    }

    private void Prepare(QuantizedMatrix weights)
    {
        int columns = weights.Columns;
        Blocks = weights.BlocksPerRow;
        Units = weights.Type switch
        {
            GgufTensorType.Q4_K => columns / 32,
            GgufTensorType.Q5_K => columns / 16,
            GgufTensorType.Q6_K => columns / 8,
            _ => 0,
        };
        _rowBytes = weights.Type == GgufTensorType.Q8_0 && !_vnni ? 2 * columns : columns;
        if (_codes.Length < Rows * _rowBytes) _codes = GC.AllocateArray<byte>(Rows * _rowBytes, pinned: true);
        if (_multipliers.Length < Rows * Units) _multipliers = GC.AllocateArray<int>(Rows * Units, pinned: true);
        if (_d.Length < Rows * Blocks)
        {
            _d = GC.AllocateArray<float>(Rows * Blocks, pinned: true);
            _dmin = GC.AllocateArray<float>(Rows * Blocks, pinned: true);
            _pairs = GC.AllocateArray<int>(Rows * Blocks * 8, pinned: true);
        }
    }

    private void LoadRow(QuantizedMatrix weights, int row, int slot)
    {
        int nb = Blocks, rowBytes = weights.RowCodeBytes;
        fixed (byte* codes0 = weights.Codes)
        fixed (ushort* scales0 = weights.Scales)
        fixed (byte* tile0 = _codes)
        fixed (int* multipliers0 = _multipliers)
        fixed (int* pairs0 = _pairs)
        fixed (float* d0 = _d)
        fixed (float* dmin0 = _dmin)
        {
            byte* x = codes0 + ((long)(weights.FirstRow + row) * rowBytes);
            ushort* halves = weights.Scales.Length == 0 ? null : scales0 + ((long)(weights.FirstRow + row) * nb);
            byte* tile = tile0 + (slot * _rowBytes);
            int* multipliers = multipliers0 + (slot * Units), pairs = pairs0 + (slot * nb * 8);
            float* d = d0 + (slot * nb), dmin = dmin0 + (slot * nb);
            var low = Vector256.Create((byte)0x0F);
            switch (weights.Type)
            {
                case GgufTensorType.Q8_0 when _vnni:
                    for (int b = 0; b < nb; b++)
                    {
                        // w + 128 as an unsigned byte: vpdpbusd's unsigned operand; the −128·Σa rides on the activation sums.
                        Avx.Store(tile + (32 * b), Avx.LoadVector256(x + (32 * b)) ^ Vector256.Create((byte)0x80));
                        d[b] = HalfTable.Values[halves[b]];
                    }
                    break;
                case GgufTensorType.Q8_0:
                    for (int b = 0; b < nb; b++)
                    {
                        var q = Avx.LoadVector256(x + (32 * b));
                        Avx.Store(tile + (64 * b), q & low);
                        // (w >> 4) + 8 for signed w is the unsigned high nibble with its top bit flipped.
                        Avx.Store(tile + (64 * b) + 32, (Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low) ^ Vector256.Create((byte)0x08));
                        d[b] = HalfTable.Values[halves[b]];
                    }
                    break;
                case GgufTensorType.Q4_0:
                    for (int b = 0; b < nb; b++)
                    {
                        var q = Q4_0Layout.LoadBlock(x, nb, b); // q4dec: GGUF order from the stored layout
                        var low128 = Vector128.Create((byte)0x0F);
                        Avx.Store(tile + (32 * b), Vector256.Create(q & low128, Sse2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low128));
                        d[b] = HalfTable.Values[halves[b]];
                    }
                    break;
                case GgufTensorType.Q4_K:
                case GgufTensorType.Q5_K:
                    LoadQ45_K(x, weights.Type == GgufTensorType.Q5_K, tile, multipliers, d, dmin, pairs);
                    break;
                case GgufTensorType.Q6_K:
                    LoadQ6_K(x, tile, multipliers, d, pairs);
                    break;
                default:
                    throw new NotSupportedException($"{weights.Type} has no GEMM path.");
            }
        }
    }

    private static int Twice(int value) => (value & 0xFFFF) | (value << 16);

    private void LoadQ45_K(byte* w, bool fifthBit, byte* tile, int* multipliers, float* d, float* dmin, int* pairs)
    {
        int blockBytes = fifthBit ? BlockQ5_K.Bytes : BlockQ4_K.Bytes, perSub = fifthBit ? 2 : 1;
        var low = Vector256.Create((byte)0x0F);
        var fifth = Vector256.Create((byte)0x10);
        int* s = stackalloc int[16];
        for (int b = 0; b < Blocks; b++)
        {
            byte* x = w + ((long)b * blockBytes);
            ScalesAndMins(x + 4, s);
            d[b] = HalfTable.Values[*(ushort*)x];
            dmin[b] = -HalfTable.Values[*(ushort*)(x + 2)];
            for (int j = 0; j < 8; j++)
            {
                pairs[(b * 8) + j] = Twice(s[8 + j]); // both 16-value halves of sub-block j carry its minimum
                for (int u = 0; u < perSub; u++) multipliers[(((b * 8) + j) * perSub) + u] = Twice(s[j]);
            }
            var qh = fifthBit ? Avx.LoadVector256(x + 16).AsUInt16() : default;
            byte* qs = x + (fifthBit ? 48 : 16);
            for (int c = 0; c < 4; c++)
            {
                var q = fifthBit ? Avx.LoadVector256(qs + (32 * c)) : Q4_KLayout.LoadChunk(qs, c); // Q4_K: GGUF order from its stored layout
                var lo = q & low;
                var hi = Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low;
                if (fifthBit)
                {
                    lo |= Avx2.ShiftLeftLogical(qh, 4).AsByte() & fifth;
                    hi |= Avx2.ShiftLeftLogical(qh, 3).AsByte() & fifth;
                    qh = Avx2.ShiftRightLogical(qh, 2);
                }
                Avx.Store(tile + (256 * b) + (64 * c), lo);
                Avx.Store(tile + (256 * b) + (64 * c) + 32, hi);
            }
        }
    }

    private void LoadQ6_K(byte* w, byte* tile, int* multipliers, float* d, int* pairs)
    {
        var low = Vector256.Create((byte)0x0F);
        var top = Vector256.Create((byte)0x30);
        for (int b = 0; b < Blocks; b++)
        {
            byte* x = w + ((long)b * BlockQ6_K.Bytes);
            sbyte* scales = (sbyte*)x + 192;
            d[b] = HalfTable.Values[*(ushort*)(x + 208)];
            // Σ (q − 32)·a = Σ q·a − 32·Σa: the offset rides on the activations' 16-value sums, weighted by the scale.
            for (int p = 0; p < 8; p++) pairs[(b * 8) + p] = (ushort)(short)(-32 * scales[2 * p]) | (-32 * scales[(2 * p) + 1] << 16);
            for (int s = 0; s < 16; s++)
            {
                multipliers[(b * 32) + (2 * s)] = Twice(scales[s]);
                multipliers[(b * 32) + (2 * s) + 1] = Twice(scales[s]);
            }
            for (int h = 0; h < 2; h++)
            {
                var ql0 = Avx.LoadVector256(x + (64 * h));
                var ql1 = Avx.LoadVector256(x + (64 * h) + 32);
                var qh = Avx.LoadVector256(x + 128 + (32 * h)).AsUInt16();
                byte* to = tile + (256 * b) + (128 * h);
                Avx.Store(to, (ql0 & low) | (Avx2.ShiftLeftLogical(qh, 4).AsByte() & top));
                Avx.Store(to + 32, (ql1 & low) | (Avx2.ShiftLeftLogical(qh, 2).AsByte() & top));
                Avx.Store(to + 64, (Avx2.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte() & low) | (qh.AsByte() & top));
                Avx.Store(to + 96, (Avx2.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte() & low) | (Avx2.ShiftRightLogical(qh, 2).AsByte() & top));
            }
        }
    }

    // Q4_K/Q5_K's eight 6-bit scales into s[0..7] and mins into s[8..15] (as KQuantDot's scalar reference unpacks them).
    private static void ScalesAndMins(byte* packed, int* s)
    {
        for (int j = 0; j < 4; j++)
        {
            s[j] = packed[j] & 63;
            s[8 + j] = packed[j + 4] & 63;
            s[4 + j] = (packed[j + 8] & 0x0F) | ((packed[j] >> 6) << 4);
            s[12 + j] = (packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4);
        }
    }
}
