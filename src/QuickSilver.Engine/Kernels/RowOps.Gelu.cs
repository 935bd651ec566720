using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// tanh-GELU over rows, 16 lanes at a time. The scalar form calls <see cref="MathF.Tanh"/> per element (libm's tanhf and
/// expm1f: on a GPT-2-shaped row path about a fifth of a decode step). With AVX-512 the rows use the identity
/// 0.5·x·(1 + tanh u) = x·σ(2u), σ(2u) = 1/(1 + m) for u ≥ 0 and m/(1 + m) below, m = e^−2|u| ≤ 1 from the softmax's
/// exponential (<see cref="SingleQueryAttention.ExpNonPositive"/>): no cancellation, no overflow, a few ulp from the exact
/// value, and a large negative x gives −0 as tanh's saturation does. A ragged tail goes through the same vector code
/// (copied into a padded block), so an element's result never depends on where it sits in the row or how long the row is.
/// </summary>
public static unsafe partial class RowOps
{
    /// <summary>y = gelu_tanh(x) in place (GPT-2's gelu_new).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GeluTanh(Span<float> x)
    {
        int n = x.Length;
        if (!Avx512F.IsSupported)
        {
            for (int i = 0; i < n; i++) x[i] = GeluTanh(x[i]);
            return;
        }
        fixed (float* p = x)
        {
            int i = 0;
            for (; i + 16 <= n; i += 16) GeluTanh16(Vector512.Load(p + i)).Store(p + i);
            if (i == n) return;
            float* block = stackalloc float[16];
            new Span<float>(block, 16).Clear();
            new Span<float>(p + i, n - i).CopyTo(new Span<float>(block, 16));
            GeluTanh16(Vector512.Load(block)).Store(block);
            new Span<float>(block, n - i).CopyTo(new Span<float>(p + i, n - i));
        }
    }

    /// <summary>GeGLU's gate: y = gelu_tanh(gate) · up (each gelu as <see cref="GeluTanh(Span{float})"/> computes it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GeluTanhMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        int n = gate.Length;
        if (up.Length < n || y.Length < n) throw new ArgumentException("Up and output must be as long as the gate.");
        gate.CopyTo(y);
        GeluTanh(y[..n]);
        for (int i = 0; i < n; i++) y[i] *= up[i];
    }

    /// <summary>x·σ(2u), u = √(2/π)·(x + 0.044715·x³), on 16 lanes (the scalar form's u, then the sigmoid identity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> GeluTanh16(Vector512<float> x)
    {
        var u = Vector512.Create(0.7978845608f) * (x + (Vector512.Create(0.044715f) * x * x * x));
        var m = SingleQueryAttention.ExpNonPositive(Vector512.Create(-2f) * Vector512.Abs(u));
        var numerator = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(u, Vector512<float>.Zero), Vector512<float>.One, m);
        return x * (numerator / (Vector512<float>.One + m));
    }
}
