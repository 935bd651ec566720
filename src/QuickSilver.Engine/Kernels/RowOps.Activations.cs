using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.InteropServices;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The MLP activations over rows, 16 lanes at a time: tanh-GELU and SiLU's gate. Both are x times a logistic σ, and σ
/// comes from the softmax's exponential of a non-positive argument (m = e^−|t| ≤ 1: σ(t) = 1/(1 + m) for t ≥ 0 and
/// m/(1 + m) below; <see cref="SingleQueryAttention.ExpNonPositive"/>), which stays within a few ulp, never overflows and
/// needs no cancellation. tanh-GELU uses 0.5·x·(1 + tanh u) = x·σ(2u): its scalar form calls <see cref="MathF.Tanh"/>
/// per element (libm's tanhf and expm1f, about a fifth of a GPT-2-shaped decode step), and a large negative x still gives
/// −0 as tanh's saturation does. SiLU's portable form widens to double precision inside Vector256.Exp. A ragged tail goes
/// through the same vector code (copied into a padded block), so an element's result never depends on where it sits in
/// the row or how long the row is.
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

    /// <summary>
    /// SwiGLU's gate: y = silu(gate) · up = gate·σ(gate)·up. With AVX-512 every element (a ragged tail too, through a padded
    /// block) takes the 16-lane form, so a value's result does not depend on its place in the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        int n = gate.Length;
        if (up.Length < n || y.Length < n) throw new ArgumentException("Up and output must be as long as the gate.");
        if (!Avx512F.IsSupported)
        {
            SiluMulPortable(gate, up, y);
            return;
        }
        fixed (float* g = gate)
        fixed (float* u = up)
        fixed (float* o = y)
        {
            int i = 0;
            for (; i + 16 <= n; i += 16) (Silu16(Vector512.Load(g + i)) * Vector512.Load(u + i)).Store(o + i);
            if (i == n) return;
            float* block = stackalloc float[32];
            new Span<float>(block, 32).Clear();
            new Span<float>(g + i, n - i).CopyTo(new Span<float>(block, 16));
            new Span<float>(u + i, n - i).CopyTo(new Span<float>(block + 16, 16));
            (Silu16(Vector512.Load(block)) * Vector512.Load(block + 16)).Store(block);
            new Span<float>(block, n - i).CopyTo(new Span<float>(o + i, n - i));
        }
    }

    /// <summary>x·σ(x) on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Silu16(Vector512<float> x) => x * Logistic16(x);

    /// <summary>σ(t) = 1/(1 + e^−t) on 16 lanes, from m = e^−|t|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Logistic16(Vector512<float> t)
    {
        var m = SingleQueryAttention.ExpNonPositive(-Vector512.Abs(t));
        var numerator = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(t, Vector512<float>.Zero), Vector512<float>.One, m);
        return numerator / (Vector512<float>.One + m);
    }

    /// <summary>SiluMul without AVX-512: 8 lanes with Vector256.Exp, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SiluMulPortable(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        int n = gate.Length;
        if (up.Length < n || y.Length < n) throw new ArgumentException("Up and output must be as long as the gate.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float pg = ref MemoryMarshal.GetReference(gate);
            ref float pu = ref MemoryMarshal.GetReference(up);
            ref float py = ref MemoryMarshal.GetReference(y);
            var one = Vector256.Create(1f);
            for (; i + 8 <= n; i += 8)
            {
                var g = Vector256.LoadUnsafe(ref pg, (nuint)i);
                (g / (one + Vector256.Exp(-g)) * Vector256.LoadUnsafe(ref pu, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float g = gate[i];
            y[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }

    /// <summary>x·σ(2u), u = √(2/π)·(x + 0.044715·x³), on 16 lanes (the scalar form's u, then the sigmoid identity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> GeluTanh16(Vector512<float> x)
    {
        var u = Vector512.Create(0.7978845608f) * (x + (Vector512.Create(0.044715f) * x * x * x));
        return x * Logistic16(u + u);
    }
}
