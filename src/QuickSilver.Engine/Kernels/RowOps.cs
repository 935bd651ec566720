using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The element-wise operations of one decode row (a single token's hidden state) in managed SIMD: dot products, norms,
/// gated activations and residual adds. At decode a row is 64–8,192 values, where a libtorch call costs more in dispatch
/// than in arithmetic. Each operation has a scalar reference in <see cref="RowOpsReference"/> it is tested against.
/// The kernels are compiled fully optimized at once: a decode loop calls them thousands of times per second from its
/// first token, and tier-0 code of vector intrinsics is many times slower.
/// </summary>
public static partial class RowOps
{
    /// <summary>Σ a[i]·b[i] over the common length, float32 with four vector accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = Math.Min(a.Length, b.Length);
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pb = ref MemoryMarshal.GetReference(b);
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i + 64 <= n; i += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref pa, (nuint)i), Vector512.LoadUnsafe(ref pb, (nuint)i), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref pa, (nuint)(i + 16)), Vector512.LoadUnsafe(ref pb, (nuint)(i + 16)), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref pa, (nuint)(i + 32)), Vector512.LoadUnsafe(ref pb, (nuint)(i + 32)), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref pa, (nuint)(i + 48)), Vector512.LoadUnsafe(ref pb, (nuint)(i + 48)), s3);
            }
            for (; i + 16 <= n; i += 16)
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref pa, (nuint)i), Vector512.LoadUnsafe(ref pb, (nuint)i), s0);
            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> s0 = default, s1 = default;
            for (; i + 16 <= n; i += 16)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)(i + 8)), Vector256.LoadUnsafe(ref pb, (nuint)(i + 8)), s1);
            }
            for (; i + 8 <= n; i += 8)
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i), s0);
            sum = Vector256.Sum(s0 + s1);
        }
        for (; i < n; i++) sum += Unsafe(ref pa, i) * Unsafe(ref pb, i);
        return sum;
    }

    /// <summary>y += a·x over the length of <paramref name="y"/> (attention's weighted sum of values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(Span<float> y, float a, ReadOnlySpan<float> x)
    {
        int n = y.Length;
        if (x.Length < n) throw new ArgumentException("Source is shorter than the destination.", nameof(x));
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            ref float py = ref MemoryMarshal.GetReference(y);
            ref float px = ref MemoryMarshal.GetReference(x);
            for (; i + 8 <= n; i += 8)
                Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(a, x[i], y[i]);
    }

    /// <summary>y += x element-wise (a residual add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(Span<float> y, ReadOnlySpan<float> x)
    {
        if (x.Length < y.Length) throw new ArgumentException("Source is shorter than the destination.", nameof(x));
        int n = y.Length, i = 0;
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float px = ref MemoryMarshal.GetReference(x);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                (Vector256.LoadUnsafe(ref py, (nuint)i) + Vector256.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        for (; i < n; i++) y[i] += x[i];
    }

    /// <summary>y = a·x·w element-wise (a norm's final scaling).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleMultiply(ReadOnlySpan<float> x, float a, ReadOnlySpan<float> w, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float py = ref MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8)
                (Vector256.LoadUnsafe(ref px, (nuint)i) * va * Vector256.LoadUnsafe(ref pw, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < n; i++) y[i] = x[i] * a * w[i];
    }

    /// <summary>RMSNorm: y = x / √(mean(x²) + eps) · w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, double eps, Span<float> y)
    {
        int n = x.Length;
        if (weight.Length < n || y.Length < n) throw new ArgumentException("Weight and output must be as long as the input.");
        float meanSquare = Dot(x, x) / n;
        float inv = 1f / MathF.Sqrt(meanSquare + (float)eps);
        ScaleMultiply(x, inv, weight, y);
    }

    /// <summary>LayerNorm with biased variance: y = (x − mean) / √(var + eps) · w + b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, double eps, Span<float> y)
    {
        int n = x.Length;
        if (weight.Length < n || bias.Length < n || y.Length < n) throw new ArgumentException("Weight, bias and output must be as long as the input.");
        float sum = 0;
        for (int i = 0; i < n; i++) sum += x[i];
        float mean = sum / n;
        var centered = y[..n];
        for (int i = 0; i < n; i++) centered[i] = x[i] - mean;
        float variance = Dot(centered, centered) / n;
        float inv = 1f / MathF.Sqrt(variance + (float)eps);
        for (int i = 0; i < n; i++) centered[i] = (centered[i] * inv * weight[i]) + bias[i];
    }

    /// <summary>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float GeluTanh(float x) => 0.5f * x * (1f + MathF.Tanh(0.7978845608f * (x + (0.044715f * x * x * x))));

    /// <summary>
    /// Rotate-half RoPE of one head in place: for i &lt; r/2, (x_i, x_{i+r/2}) ← (x_i·cos_i − x_{i+r/2}·sin_i,
    /// x_{i+r/2}·cos_{i+r/2} + x_i·sin_{i+r/2}), with the position's cos/sin rows of width r; values past r pass through.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RotateHalf(Span<float> head, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, int rotated)
    {
        int half = rotated / 2;
        if (head.Length < rotated || cos.Length < rotated || sin.Length < rotated) throw new ArgumentException("Head and tables must cover the rotated width.");
        for (int i = 0; i < half; i++)
        {
            float a = head[i], b = head[i + half];
            head[i] = (a * cos[i]) + (-b * sin[i]);
            head[i + half] = (b * cos[i + half]) + (a * sin[i + half]);
        }
    }

    /// <summary>c·tanh(s/c) for every score (a soft-cap), in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftCap(Span<float> scores, float cap)
    {
        for (int i = 0; i < scores.Length; i++) scores[i] = MathF.Tanh(scores[i] / cap) * cap;
    }

    /// <summary>Softmax in place; −∞ entries get probability 0. Returns false when every entry is −∞ (all zero then).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Softmax(Span<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) if (v > max) max = v;
        if (float.IsNegativeInfinity(max))
        {
            x.Clear();
            return false;
        }
        float sum = 0;
        int n = x.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float px = ref MemoryMarshal.GetReference(x);
            var vmax = Vector256.Create(max);
            var vsum = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var e = Vector256.Exp(Vector256.LoadUnsafe(ref px, (nuint)i) - vmax);
                e.StoreUnsafe(ref px, (nuint)i);
                vsum += e;
            }
            sum = Vector256.Sum(vsum);
        }
        for (; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < n; j++) x[j] *= inv;
        return true;
    }

    private static float Unsafe(ref float p, int i) => System.Runtime.CompilerServices.Unsafe.Add(ref p, i);
}
