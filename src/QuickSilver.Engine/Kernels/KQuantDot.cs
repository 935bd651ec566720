using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// One weight row of 256-value blocks (Q2_K … Q6_K, IQ4_XS, in GGUF layout) · one <see cref="Q8KActivations"/> row:
/// <c>Σ_b s_a(b)·(d_w(b)·Σ_j scale_j·Σ_i q_w·q_a − dmin_w(b)·Σ_j min_j·Σ_i q_a)</c>. The integer sums are exact on every
/// path; a format's minimum or code offset is applied through the activations' 16-value sums. This file holds the
/// dispatch and the scalar definitions (the reference every SIMD path is tested against; layouts in <c>Quantization/</c>).
/// </summary>
internal static unsafe partial class KQuantDot
{
    /// <summary>Whether <paramref name="type"/> is multiplied against <see cref="Q8KActivations"/>.</summary>
    public static bool Handles(GgufTensorType type) => type is GgufTensorType.Q2_K or GgufTensorType.Q3_K or GgufTensorType.Q4_K
        or GgufTensorType.Q5_K or GgufTensorType.Q6_K or GgufTensorType.IQ4_XS;

    /// <summary>
    /// Row dot on <paramref name="isa"/>. <paramref name="w"/>: nb blocks as stored; <paramref name="a"/>: nb·256 codes in the
    /// order <see cref="Q8KActivations.CodesFor"/> gives for <paramref name="type"/> (<see cref="Q8KActivations.K4Order"/> for Q4_K).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(GgufTensorType type, KernelIsa isa, byte* w, sbyte* a, float* sa, short* sums, int nb) => type switch
    {
        GgufTensorType.Q4_K => isa switch
        {
            // The AVX2 kernel stands in as the "previous" path of the matvec benchmark (the old AVX-512 one read GGUF order).
            KernelIsa.Avx512 => KernelSettings.DecodeKernel ? Q4_KWide(w, a, sa, sums, nb) : Q4_KAvx2(w, a, sa, sums, nb),
            KernelIsa.Avx2 => Q4_KAvx2(w, a, sa, sums, nb),
            _ => Q4_KScalar(w, a, sa, sums, nb),
        },
        GgufTensorType.Q6_K => isa switch
        {
            KernelIsa.Avx512 => Q6_KAvx512(w, a, sa, sums, nb),
            KernelIsa.Avx2 => Q6_KAvx2(w, a, sa, sums, nb),
            _ => Q6_KScalar(w, a, sa, sums, nb),
        },
        GgufTensorType.Q5_K => isa switch
        {
            KernelIsa.Avx512 => KernelSettings.DecodeKernel ? Q5_KWide(w, a, sa, sums, nb) : Q5_KAvx512(w, a, sa, sums, nb),
            KernelIsa.Avx2 => Q5_KAvx2(w, a, sa, sums, nb),
            _ => Q5_KScalar(w, a, sa, sums, nb),
        },
        GgufTensorType.Q3_K => isa == KernelIsa.Scalar ? Q3_KScalar(w, a, sa, sums, nb) : Q3_KAvx2(w, a, sa, sums, nb),
        GgufTensorType.Q2_K => isa == KernelIsa.Scalar ? Q2_KScalar(w, a, sa, sums, nb) : Q2_KAvx2(w, a, sa, sums, nb),
        GgufTensorType.IQ4_XS => isa == KernelIsa.Scalar ? IQ4_XSScalar(w, a, sa, sums, nb) : IQ4_XSAvx2(w, a, sa, sums, nb),
        _ => throw new NotSupportedException($"{type} is not a 256-value block format."),
    };

    /// <summary>
    /// Q4_K as stored (<see cref="Q4_KLayout"/>) · activations in <see cref="Q8KActivations.K4Order"/>: byte i of word L of
    /// half k holds, in its low nibble, a value of sub-block 2·(L mod 4) met at K4 position 64·2k + 4L + i, and in its high
    /// nibble one of sub-block 2·(L mod 4) + 1 at 64·(2k + 1) + 4L + i.
    /// </summary>
    public static float Q4_KScalar(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        int* scales = stackalloc int[16];
        int* dots = stackalloc int[8];
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ4_K.Bytes);
            byte* qs = x + Q4_KLayout.HeaderBytes;
            sbyte* q8 = a + (b * 256);
            short* bs = sums + (b * 16);
            ScalesAndMins(x + 4, scales);
            new Span<int>(dots, 8).Clear();
            for (int k = 0; k < 2; k++)
            {
                for (int p = 0; p < 64; p++)
                {
                    int c = (p >> 2) & 3, q = qs[(64 * k) + p];
                    dots[2 * c] += (q & 0x0F) * q8[(128 * k) + p];
                    dots[(2 * c) + 1] += (q >> 4) * q8[(128 * k) + 64 + p];
                }
            }
            int sumi = 0, summ = 0;
            for (int j = 0; j < 8; j++)
            {
                sumi += scales[j] * dots[j];
                summ += scales[8 + j] * (bs[2 * j] + bs[(2 * j) + 1]);
            }
            sum += sa[b] * ((Half(x) * sumi) - (Half(x + 2) * summ));
        }
        return sum;
    }

    public static float Q5_KScalar(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        int* scales = stackalloc int[16];
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ5_K.Bytes);
            byte* qs = x + 48;
            byte* qh = x + 16;
            sbyte* q8 = a + (b * 256);
            short* bs = sums + (b * 16);
            ScalesAndMins(x + 4, scales);
            int sumi = 0, summ = 0;
            for (int j = 0; j < 8; j++)
            {
                byte* q = qs + (32 * (j / 2));
                int shift = 4 * (j % 2), dot = 0;
                for (int l = 0; l < 32; l++) dot += (((q[l] >> shift) & 0x0F) | (((qh[l] >> j) & 1) << 4)) * q8[(32 * j) + l];
                sumi += scales[j] * dot;
                summ += scales[8 + j] * (bs[2 * j] + bs[(2 * j) + 1]);
            }
            sum += sa[b] * ((Half(x) * sumi) - (Half(x + 2) * summ));
        }
        return sum;
    }

    public static float Q6_KScalar(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        int* sub = stackalloc int[16];
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ6_K.Bytes);
            sbyte* q8 = a + (b * 256);
            new Span<int>(sub, 16).Clear();
            for (int h = 0; h < 2; h++)
            {
                byte* ql = x + (64 * h), qh = x + 128 + (32 * h);
                for (int l = 0; l < 32; l++)
                {
                    int e = (128 * h) + l;
                    sub[e / 16] += (((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32) * q8[e];
                    sub[(e + 32) / 16] += (((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32) * q8[e + 32];
                    sub[(e + 64) / 16] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * q8[e + 64];
                    sub[(e + 96) / 16] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * q8[e + 96];
                }
            }
            int sumi = 0;
            for (int s = 0; s < 16; s++) sumi += ((sbyte)x[192 + s]) * sub[s];
            sum += sa[b] * Half(x + 208) * sumi;
        }
        return sum;
    }

    public static float Q3_KScalar(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        Span<int> scales = stackalloc int[16];
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ3_K.Bytes);
            sbyte* q8 = a + (b * 256);
            BlockQ3_K.UnpackScales(new ReadOnlySpan<byte>(x + 96, 12), scales);
            int sumi = 0, sub = 0, o = 0, bit = 1;
            for (int h = 0; h < 2; h++)
            {
                byte* q = x + 32 + (32 * h);
                for (int shift = 0; shift < 8; shift += 2, bit <<= 1)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        int dot = 0;
                        for (int l = 16 * part; l < (16 * part) + 16; l++)
                            dot += (((q[l] >> shift) & 3) - ((x[l] & bit) != 0 ? 0 : 4)) * q8[o++];
                        sumi += (scales[sub++] - 32) * dot;
                    }
                }
            }
            sum += sa[b] * Half(x + 108) * sumi;
        }
        return sum;
    }

    public static float Q2_KScalar(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ2_K.Bytes);
            sbyte* q8 = a + (b * 256);
            short* bs = sums + (b * 16);
            int sumi = 0, summ = 0, sub = 0, o = 0;
            for (int h = 0; h < 2; h++)
            {
                byte* q = x + 16 + (32 * h);
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        int dot = 0;
                        for (int l = 16 * part; l < (16 * part) + 16; l++) dot += ((q[l] >> shift) & 3) * q8[o++];
                        sumi += (x[sub] & 0x0F) * dot;
                        summ += (x[sub] >> 4) * bs[sub];
                        sub++;
                    }
                }
            }
            sum += sa[b] * ((Half(x + 80) * sumi) - (Half(x + 82) * summ));
        }
        return sum;
    }

    public static float IQ4_XSScalar(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        ReadOnlySpan<sbyte> grid = BlockIQ4_NL.Grid;
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockIQ4_XS.Bytes);
            sbyte* q8 = a + (b * 256);
            int scalesHigh = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(x + 2, 2)), sumi = 0;
            for (int i = 0; i < 8; i++)
            {
                int scale = ((x[4 + (i / 2)] >> (4 * (i % 2))) & 0x0F) | (((scalesHigh >> (2 * i)) & 3) << 4);
                byte* qs = x + 8 + (16 * i);
                int dot = 0;
                for (int j = 0; j < 16; j++) dot += (grid[qs[j] & 0x0F] * q8[(32 * i) + j]) + (grid[qs[j] >> 4] * q8[(32 * i) + 16 + j]);
                sumi += (scale - 32) * dot;
            }
            sum += sa[b] * Half(x) * sumi;
        }
        return sum;
    }

    /// <summary>Q4_K/Q5_K's eight 6-bit scales into <c>s[0..7]</c> and mins into <c>s[8..15]</c> (see <see cref="KQuantScales"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(byte* at) => HalfTable.Values[*(ushort*)at];
}
