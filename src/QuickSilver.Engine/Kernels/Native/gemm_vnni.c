// AVX-512 VNNI micro-kernels of QuickSilver.Engine's int8 GEMM (QuantizedGemm): the same per-(row, token) arithmetic as
// the managed Blocks32 / KBlocks (exact integer block dots, then the same float FMAs in the same order), with vpdpbusd
// in place of vpmaddubsw + vpaddw + vpmaddwd. Built position-independent with no data or calls so the bytes can run from
// anywhere (see build-gemm-vnni.sh).
#include <immintrin.h>
#include <stdint.h>

// 4 rows x 16 tokens over nb 32-value blocks; codes 32 unsigned bytes per block and row (Q4_0 nibbles, Q8_0 w+128).
void blocks32(const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3, int offset, const float* d,
              const uint8_t* a, const float* sa, const int32_t* sums, int nb, float* result)
{
    __m512 f0 = _mm512_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    __m512i off = _mm512_set1_epi32(offset);
    for (int b = 0; b < nb; b++)
    {
        __m512i i0 = _mm512_mullo_epi32(_mm512_loadu_si512(sums + b * 16), off);
        __m512i i1 = i0, i2 = i0, i3 = i0;
        const uint8_t* ab = a + (long)b * 512;
        long k = (long)b * 32;
#pragma GCC unroll 8
        for (int g = 0; g < 8; g++)
        {
            __m512i av = _mm512_loadu_si512(ab + g * 64);
            i0 = _mm512_dpbusd_epi32(i0, _mm512_set1_epi32(*(const int32_t*)(w0 + k + 4 * g)), av);
            i1 = _mm512_dpbusd_epi32(i1, _mm512_set1_epi32(*(const int32_t*)(w1 + k + 4 * g)), av);
            i2 = _mm512_dpbusd_epi32(i2, _mm512_set1_epi32(*(const int32_t*)(w2 + k + 4 * g)), av);
            i3 = _mm512_dpbusd_epi32(i3, _mm512_set1_epi32(*(const int32_t*)(w3 + k + 4 * g)), av);
        }
        __m512 s = _mm512_loadu_ps(sa + b * 16);
        f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(s, _mm512_set1_ps(d[b])), f0);
        f1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(s, _mm512_set1_ps(d[nb + b])), f1);
        f2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i2), _mm512_mul_ps(s, _mm512_set1_ps(d[2 * nb + b])), f2);
        f3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i3), _mm512_mul_ps(s, _mm512_set1_ps(d[3 * nb + b])), f3);
    }
    _mm512_storeu_ps(result, f0);
    _mm512_storeu_ps(result + 16, f1);
    _mm512_storeu_ps(result + 32, f2);
    _mm512_storeu_ps(result + 48, f3);
}

// The k-quants: 256-value blocks of units of `words` 4-code words (8 for Q4_K/Q5_K's 32-value sub-blocks, 4 for Q6_K's
// 16), each unit's int32 dot times its row's multiplier (multipliers[u * step], the low int16 of an int), then the 8 pair
// terms over the activations' 16-value sums (vpmaddwd) into the dot (pairsInDot, Q6_K) or times -dmin (Q4_K/Q5_K).
void kblocks(const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3, const int32_t* multipliers,
             int units, const int32_t* pairs, int pairsInDot, const float* d, const float* dmin, int nb, int words, int step,
             const uint8_t* a, const float* sa, const int32_t* sums, float* result)
{
    __m512 f0 = _mm512_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    const int32_t *m0 = multipliers, *m1 = multipliers + units, *m2 = m1 + units, *m3 = m2 + units;
    int perBlock = 64 / words;
    for (int b = 0; b < nb; b++)
    {
        __m512i i0 = _mm512_setzero_si512(), i1 = i0, i2 = i0, i3 = i0;
        const uint8_t* ab = a + (long)b * 4096;
        long k = (long)b * 256;
        int u = b * perBlock * step;
        for (int n = 0; n < perBlock; n++, u += step)
        {
            __m512i h0 = _mm512_setzero_si512(), h1 = h0, h2 = h0, h3 = h0;
            for (int g = 0; g < words; g++, ab += 64, k += 4)
            {
                __m512i av = _mm512_loadu_si512(ab);
                h0 = _mm512_dpbusd_epi32(h0, _mm512_set1_epi32(*(const int32_t*)(w0 + k)), av);
                h1 = _mm512_dpbusd_epi32(h1, _mm512_set1_epi32(*(const int32_t*)(w1 + k)), av);
                h2 = _mm512_dpbusd_epi32(h2, _mm512_set1_epi32(*(const int32_t*)(w2 + k)), av);
                h3 = _mm512_dpbusd_epi32(h3, _mm512_set1_epi32(*(const int32_t*)(w3 + k)), av);
            }
            i0 = _mm512_add_epi32(i0, _mm512_mullo_epi32(h0, _mm512_set1_epi32((int16_t)m0[u])));
            i1 = _mm512_add_epi32(i1, _mm512_mullo_epi32(h1, _mm512_set1_epi32((int16_t)m1[u])));
            i2 = _mm512_add_epi32(i2, _mm512_mullo_epi32(h2, _mm512_set1_epi32((int16_t)m2[u])));
            i3 = _mm512_add_epi32(i3, _mm512_mullo_epi32(h3, _mm512_set1_epi32((int16_t)m3[u])));
        }
        __m512i p0 = _mm512_setzero_si512(), p1 = p0, p2 = p0, p3 = p0;
        const int32_t* bs = sums + (long)b * 128;
        const int32_t* q = pairs + b * 8;
        for (int p = 0; p < 8; p++, bs += 16, q++)
        {
            __m512i sv = _mm512_loadu_si512(bs);
            p0 = _mm512_add_epi32(p0, _mm512_madd_epi16(sv, _mm512_set1_epi32(q[0])));
            p1 = _mm512_add_epi32(p1, _mm512_madd_epi16(sv, _mm512_set1_epi32(q[8 * nb])));
            p2 = _mm512_add_epi32(p2, _mm512_madd_epi16(sv, _mm512_set1_epi32(q[16 * nb])));
            p3 = _mm512_add_epi32(p3, _mm512_madd_epi16(sv, _mm512_set1_epi32(q[24 * nb])));
        }
        __m512 s = _mm512_loadu_ps(sa + b * 16);
        if (pairsInDot)
        {
            i0 = _mm512_add_epi32(i0, p0); i1 = _mm512_add_epi32(i1, p1);
            i2 = _mm512_add_epi32(i2, p2); i3 = _mm512_add_epi32(i3, p3);
        }
        f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(s, _mm512_set1_ps(d[b])), f0);
        f1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(s, _mm512_set1_ps(d[nb + b])), f1);
        f2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i2), _mm512_mul_ps(s, _mm512_set1_ps(d[2 * nb + b])), f2);
        f3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i3), _mm512_mul_ps(s, _mm512_set1_ps(d[3 * nb + b])), f3);
        if (pairsInDot) continue;
        f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p0), _mm512_mul_ps(s, _mm512_set1_ps(dmin[b])), f0);
        f1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p1), _mm512_mul_ps(s, _mm512_set1_ps(dmin[nb + b])), f1);
        f2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p2), _mm512_mul_ps(s, _mm512_set1_ps(dmin[2 * nb + b])), f2);
        f3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p3), _mm512_mul_ps(s, _mm512_set1_ps(dmin[3 * nb + b])), f3);
    }
    _mm512_storeu_ps(result, f0);
    _mm512_storeu_ps(result + 16, f1);
    _mm512_storeu_ps(result + 32, f2);
    _mm512_storeu_ps(result + 48, f3);
}
