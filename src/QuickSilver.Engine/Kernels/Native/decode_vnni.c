// AVX-512 VNNI decode kernel of QuickSilver.Engine (DecodeVnniCode): Q8_0 / Q4_0 weight rows against N 8-bit activation
// rows (one decode token, a batched decode step, a verify run). The arithmetic per (weight row, activation row) is the
// managed one-row kernel's (DecodeMatVec): per group of 16 blocks, the 16 exact integer block dots in 16 int32 lanes (lane
// = block), minus the code bias (Σa << shift), converted to float, times (widened half scale × activation scale), fused-
// added to 16 float lanes; the last 1..15 blocks as a group with zero codes and zero scales past them; at the end the 16
// lanes summed by neighbouring pairs. Integer dots are exact in any order, so only vpdpbusd replaces the managed
// vpmaddubsw + vpmaddwd, and each result is bit-identical to the managed kernel's whatever N is or where the row sits.
//
// The weight-only work of a group (loading, the Q8_0 16x8 word transpose that puts one block per lane, the Q4_0 nibble
// split, the scale widening) is done once per weight row and shared by the N activation rows, which are read in the
// transposed group order of Q8Activations.GroupOrder (lane = block, vector m = elements 4m..4m+3 of the 16 blocks).
// Built position-independent with no data or calls (see build-decode-vnni.sh): the permutation indices and the byte
// constants come in through `tables` (DecodeVnniCode.Tables).
#include <immintrin.h>
#include <stdint.h>

// tables (int32, 16 per vector): 0..1 the first transpose stage (output parity 0/1), 2..3 the second (Q8_0), 4..5 the
// last Q8_0 stage (words 0..3 / 4..7), 6..7 the last Q4_0 tail stage (words 0..1 / 2..3), 8 the byte 0x80, 9 the byte 0x0F,
// 10..11 the even and odd lanes of two vectors (0, 2, .., 30 and 1, 3, .., 31).
// Rows ahead of the current one whose bytes are prefetched.
#ifndef PREFETCH_ROWS
#define PREFETCH_ROWS 4
#endif

#define TABLE(i) _mm512_loadu_si512(tables + 16 * (i))

static inline __mmask64 first_bytes(int valid)
{
    if (valid >= 64) return ~(__mmask64)0;
    if (valid <= 0) return 0;
    return ((__mmask64)1 << valid) - 1;
}

// `count` (1..16) Q8_0 blocks of 32 codes in GGUF order -> w[k], lane j = codes 4k..4k+3 of block j plus 128 (zero codes,
// so 128, for absent blocks: they meet zero activation codes). Vector bits (b3 b2 b1), lane bits (b0 w2 w1 w0); the first
// two stages each exchange one vector bit with one lane bit, the last puts (w2 w1 w0) in the vector and the block in the lane.
static inline void q8_group(const uint8_t* src, int count, const int32_t* tables, __m512i* w)
{
    __m512i v0, v1, v2, v3, v4, v5, v6, v7;
    if (count == 16)
    {
        v0 = _mm512_loadu_si512(src); v1 = _mm512_loadu_si512(src + 64);
        v2 = _mm512_loadu_si512(src + 128); v3 = _mm512_loadu_si512(src + 192);
        v4 = _mm512_loadu_si512(src + 256); v5 = _mm512_loadu_si512(src + 320);
        v6 = _mm512_loadu_si512(src + 384); v7 = _mm512_loadu_si512(src + 448);
    }
    else
    {
        int valid = 32 * count;
        v0 = _mm512_maskz_loadu_epi8(first_bytes(valid), src); v1 = _mm512_maskz_loadu_epi8(first_bytes(valid - 64), src + 64);
        v2 = _mm512_maskz_loadu_epi8(first_bytes(valid - 128), src + 128); v3 = _mm512_maskz_loadu_epi8(first_bytes(valid - 192), src + 192);
        v4 = _mm512_maskz_loadu_epi8(first_bytes(valid - 256), src + 256); v5 = _mm512_maskz_loadu_epi8(first_bytes(valid - 320), src + 320);
        v6 = _mm512_maskz_loadu_epi8(first_bytes(valid - 384), src + 384); v7 = _mm512_maskz_loadu_epi8(first_bytes(valid - 448), src + 448);
    }
    // Stage 0: pairs (0,1) (2,3) (4,5) (6,7).
    __m512i p0 = TABLE(0), p1 = TABLE(1);
    __m512i u0 = _mm512_permutex2var_epi32(v0, p0, v1), u1 = _mm512_permutex2var_epi32(v0, p1, v1);
    __m512i u2 = _mm512_permutex2var_epi32(v2, p0, v3), u3 = _mm512_permutex2var_epi32(v2, p1, v3);
    __m512i u4 = _mm512_permutex2var_epi32(v4, p0, v5), u5 = _mm512_permutex2var_epi32(v4, p1, v5);
    __m512i u6 = _mm512_permutex2var_epi32(v6, p0, v7), u7 = _mm512_permutex2var_epi32(v6, p1, v7);
    // Stage 1: pairs (0,2) (1,3) (4,6) (5,7).
    p0 = TABLE(2); p1 = TABLE(3);
    v0 = _mm512_permutex2var_epi32(u0, p0, u2); v2 = _mm512_permutex2var_epi32(u0, p1, u2);
    v1 = _mm512_permutex2var_epi32(u1, p0, u3); v3 = _mm512_permutex2var_epi32(u1, p1, u3);
    v4 = _mm512_permutex2var_epi32(u4, p0, u6); v6 = _mm512_permutex2var_epi32(u4, p1, u6);
    v5 = _mm512_permutex2var_epi32(u5, p0, u7); v7 = _mm512_permutex2var_epi32(u5, p1, u7);
    // Last stage: word k from (v[k & 3], v[(k & 3) | 4]).
    __m512i bias = TABLE(8);
    p0 = TABLE(4); p1 = TABLE(5);
    w[0] = _mm512_xor_si512(_mm512_permutex2var_epi32(v0, p0, v4), bias); w[4] = _mm512_xor_si512(_mm512_permutex2var_epi32(v0, p1, v4), bias);
    w[1] = _mm512_xor_si512(_mm512_permutex2var_epi32(v1, p0, v5), bias); w[5] = _mm512_xor_si512(_mm512_permutex2var_epi32(v1, p1, v5), bias);
    w[2] = _mm512_xor_si512(_mm512_permutex2var_epi32(v2, p0, v6), bias); w[6] = _mm512_xor_si512(_mm512_permutex2var_epi32(v2, p1, v6), bias);
    w[3] = _mm512_xor_si512(_mm512_permutex2var_epi32(v3, p0, v7), bias); w[7] = _mm512_xor_si512(_mm512_permutex2var_epi32(v3, p1, v7), bias);
}

// Q4_0: packed word vectors k0..k3 (lane j = bytes 4k..4k+3 of block j) -> w[k] low nibbles (elements 4k..), w[4 + k]
// high nibbles (elements 16 + 4k..).
static inline void q4_split(__m512i k0, __m512i k1, __m512i k2, __m512i k3, const int32_t* tables, __m512i* w)
{
    __m512i low = TABLE(9);
    w[0] = _mm512_and_si512(k0, low); w[4] = _mm512_and_si512(_mm512_srli_epi16(k0, 4), low);
    w[1] = _mm512_and_si512(k1, low); w[5] = _mm512_and_si512(_mm512_srli_epi16(k1, 4), low);
    w[2] = _mm512_and_si512(k2, low); w[6] = _mm512_and_si512(_mm512_srli_epi16(k2, 4), low);
    w[3] = _mm512_and_si512(k3, low); w[7] = _mm512_and_si512(_mm512_srli_epi16(k3, 4), low);
}

// A whole Q4_0 group as stored (Q4_0Layout: 64-byte vector k holds word k of the 16 blocks).
static inline void q4_group(const uint8_t* src, const int32_t* tables, __m512i* w)
{
    q4_split(_mm512_loadu_si512(src), _mm512_loadu_si512(src + 64), _mm512_loadu_si512(src + 128), _mm512_loadu_si512(src + 192), tables, w);
}

// The last `count` (1..15) Q4_0 blocks, 16 bytes each in GGUF order: vector bits (b3 b2), lane bits (b1 b0 w1 w0); one
// exchange stage, then the last puts (w1 w0) in the vector and the block in the lane.
static inline void q4_tail(const uint8_t* src, int count, const int32_t* tables, __m512i* w)
{
    int valid = 16 * count;
    __m512i v0 = _mm512_maskz_loadu_epi8(first_bytes(valid), src), v1 = _mm512_maskz_loadu_epi8(first_bytes(valid - 64), src + 64);
    __m512i v2 = _mm512_maskz_loadu_epi8(first_bytes(valid - 128), src + 128), v3 = _mm512_maskz_loadu_epi8(first_bytes(valid - 192), src + 192);
    __m512i p0 = TABLE(0), p1 = TABLE(1);
    __m512i u0 = _mm512_permutex2var_epi32(v0, p0, v1), u1 = _mm512_permutex2var_epi32(v0, p1, v1);
    __m512i u2 = _mm512_permutex2var_epi32(v2, p0, v3), u3 = _mm512_permutex2var_epi32(v2, p1, v3);
    p0 = TABLE(6); p1 = TABLE(7);
    q4_split(_mm512_permutex2var_epi32(u0, p0, u2), _mm512_permutex2var_epi32(u1, p0, u3),
             _mm512_permutex2var_epi32(u0, p1, u2), _mm512_permutex2var_epi32(u1, p1, u3), tables, w);
}

// One activation row's group: the 16 block dots (minus the code bias), then acc + float(dots) * (d * sa).
static inline __m512 group_step(const __m512i* wv, __m512 d, int q4, const int8_t* at, const float* sa, const int32_t* sums, __m512 acc)
{
    __m512i bias = _mm512_loadu_si512(sums);
    bias = q4 ? _mm512_slli_epi32(bias, 3) : _mm512_slli_epi32(bias, 7);
    __m512i i0 = _mm512_sub_epi32(_mm512_setzero_si512(), bias), i1 = _mm512_setzero_si512();
    i0 = _mm512_dpbusd_epi32(i0, wv[0], _mm512_loadu_si512(at));
    i1 = _mm512_dpbusd_epi32(i1, wv[1], _mm512_loadu_si512(at + 64));
    i0 = _mm512_dpbusd_epi32(i0, wv[2], _mm512_loadu_si512(at + 128));
    i1 = _mm512_dpbusd_epi32(i1, wv[3], _mm512_loadu_si512(at + 192));
    i0 = _mm512_dpbusd_epi32(i0, wv[4], _mm512_loadu_si512(at + 256));
    i1 = _mm512_dpbusd_epi32(i1, wv[5], _mm512_loadu_si512(at + 320));
    i0 = _mm512_dpbusd_epi32(i0, wv[6], _mm512_loadu_si512(at + 384));
    i1 = _mm512_dpbusd_epi32(i1, wv[7], _mm512_loadu_si512(at + 448));
    __m512 scale = _mm512_mul_ps(d, _mm512_loadu_ps(sa));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)), scale, acc);
}

// Neighbouring lanes of x then y added: [x0+x1, .., x14+x15, y0+y1, .., y14+y15] (DecodeMatVec.Pair).
static inline __m512 pair(__m512 x, __m512 y, const int32_t* tables)
{
    return _mm512_add_ps(_mm512_permutex2var_ps(x, TABLE(10), y), _mm512_permutex2var_ps(x, TABLE(11), y));
}

// The four rows' 16-lane sums by neighbouring pairs, then pairs of pairs (DecodeMatVec.Sum4 = Sum16 per row).
static inline void sum4(__m512 c0, __m512 c1, __m512 c2, __m512 c3, const int32_t* tables, float* out, long outStride, int count)
{
    __m512 v = pair(pair(c0, c1, tables), pair(c2, c3, tables), tables);
    v = pair(v, v, tables);
    v = pair(v, v, tables);
    float lanes[16];
    _mm512_storeu_ps(lanes, v);
    for (int j = 0; j < count; j++) out[j * outStride] = lanes[j];
}

// decode_rows for one format (q4 a constant in each copy).
static inline __attribute__((always_inline)) void rows_of(const uint8_t* w, const uint16_t* ws, long rowBytes, int nb, const int q4,
    const int8_t* a, long aStride, const float* sa, const int32_t* sums, int padded, int n, float* out, long outStride,
    int rows, const int32_t* tables, uint8_t* prepared)
{
    int groups = (nb + 15) / 16;
    for (int r = 0; r < rows; r++)
    {
        const uint8_t* wr = w + r * rowBytes;
        const uint16_t* wsr = ws + (long)r * nb;
        // A row's loads come in one burst, then arithmetic without loads: ask for a later row now so the memory keeps
        // streaming while this one is multiplied.
        if (r + PREFETCH_ROWS < rows)
        {
            const char* next = (const char*)(wr + PREFETCH_ROWS * rowBytes);
            for (long o = 0; o < rowBytes; o += 64) _mm_prefetch(next + o, _MM_HINT_T0);
            const char* nextScales = (const char*)(wsr + PREFETCH_ROWS * (long)nb);
            for (long o = 0; o < 2L * nb; o += 64) _mm_prefetch(nextScales + o, _MM_HINT_T0);
        }
        // The weight-only work, once per weight row for every activation row.
        for (int g = 0; g < groups; g++)
        {
            int b = 16 * g, count = nb - b < 16 ? nb - b : 16;
            __m512i wv[8];
            __m512 d;
            if (q4)
            {
                if (count == 16) q4_group(wr + 16 * b, tables, wv);
                else q4_tail(wr + 16 * b, count, tables, wv);
            }
            else q8_group(wr + 32 * b, count, tables, wv);
            if (count == 16) d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(wsr + b)));
            else d = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((__mmask16)((1u << count) - 1), wsr + b));
            uint8_t* pg = prepared + 576L * g;
            for (int k = 0; k < 8; k++) _mm512_storeu_si512(pg + 64 * k, wv[k]);
            _mm512_storeu_ps((float*)(pg + 512), d);
        }
        int t = 0;
        // Four activation rows at a time: four independent dot chains per group, each prepared vector loaded once for them.
        for (; t + 4 <= n; t += 4)
        {
            __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
            const int8_t* at = a + t * aStride;
            const float* st = sa + (long)t * padded;
            const int32_t* bt = sums + (long)t * padded;
            for (int g = 0; g < groups; g++)
            {
                const uint8_t* pg = prepared + 576L * g;
                __m512i wv[8];
                for (int k = 0; k < 8; k++) wv[k] = _mm512_loadu_si512(pg + 64 * k);
                __m512 d = _mm512_loadu_ps((const float*)(pg + 512));
                int b = 16 * g;
                c0 = group_step(wv, d, q4, at + 512L * g, st + b, bt + b, c0);
                c1 = group_step(wv, d, q4, at + aStride + 512L * g, st + padded + b, bt + padded + b, c1);
                c2 = group_step(wv, d, q4, at + 2 * aStride + 512L * g, st + 2 * padded + b, bt + 2 * padded + b, c2);
                c3 = group_step(wv, d, q4, at + 3 * aStride + 512L * g, st + 3 * padded + b, bt + 3 * padded + b, c3);
            }
            sum4(c0, c1, c2, c3, tables, out + t * outStride + r, outStride, 4);
        }
        for (; t < n; t++)
        {
            __m512 c0 = _mm512_setzero_ps();
            const int8_t* at = a + t * aStride;
            for (int g = 0; g < groups; g++)
            {
                const uint8_t* pg = prepared + 576L * g;
                __m512i wv[8];
                for (int k = 0; k < 8; k++) wv[k] = _mm512_loadu_si512(pg + 64 * k);
                int b = 16 * g;
                c0 = group_step(wv, _mm512_loadu_ps((const float*)(pg + 512)), q4, at + 512L * g, sa + (long)t * padded + b, sums + (long)t * padded + b, c0);
            }
            __m512 zero = _mm512_setzero_ps();
            sum4(c0, zero, zero, zero, tables, out + t * outStride + r, outStride, 1);
        }
    }
}

// Weight rows [0, rows) (rowBytes of codes and nb half scales apart) · n activation rows: out[t * outStride + r].
// a: GroupOrder codes, aStride bytes per activation row; sa, sums: padded scales and block sums, `padded` per row;
// prepared: (nb + 15) / 16 * 576 bytes of scratch (a weight row's prepared groups: 8 code vectors and 16 scales each).
// q4: 1 for Q4_0 (nibbles, offset 8), 0 for Q8_0 (codes + 128); each has its own copy of the loops.
void decode_rows(const uint8_t* w, const uint16_t* ws, long rowBytes, int nb, int q4, const int8_t* a, long aStride,
                 const float* sa, const int32_t* sums, int padded, int n, float* out, long outStride, int rows,
                 const int32_t* tables, uint8_t* prepared)
{
    if (q4) rows_of(w, ws, rowBytes, nb, 1, a, aStride, sa, sums, padded, n, out, outStride, rows, tables, prepared);
    else rows_of(w, ws, rowBytes, nb, 0, a, aStride, sa, sums, padded, n, out, outStride, rows, tables, prepared);
}
