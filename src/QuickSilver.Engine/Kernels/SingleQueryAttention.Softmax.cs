using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The score pass of <see cref="SingleQueryAttention"/> between the dots and the values: scale and softmax with the
/// passes that were scalar (maximum, scale, normalization) vectorized. Each element gets the same bits as the scalar
/// loops and <see cref="RowOps.Softmax"/>: a maximum does not depend on order, and the exponentials and their sum are
/// computed exactly as RowOps.Softmax computes them.
/// </summary>
public static unsafe partial class SingleQueryAttention
{
    /// <summary>x[j] *= scale for j in [0, <paramref name="n"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Scale(float* x, int n, float scale)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16) (Vector512.Load(x + i) * s).Store(x + i);
        }
        for (; i < n; i++) x[i] *= scale;
    }

    /// <summary>RowOps.Softmax over x[0..n), bit for bit: −∞ entries get 0; false (all zero) when every entry is −∞.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool Softmax(float* x, int n)
    {
        float max = float.NegativeInfinity;
        int i = 0;
        if (Avx512F.IsSupported)
        {
            // vmaxps returns its second operand when the first is NaN, so NaN entries are passed over like the scalar `v > max`.
            var m = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16) m = Avx512F.Max(Vector512.Load(x + i), m);
            for (int l = 0; l < 16; l++) if (m.GetElement(l) > max) max = m.GetElement(l);
        }
        for (; i < n; i++) if (x[i] > max) max = x[i];
        if (float.IsNegativeInfinity(max))
        {
            new Span<float>(x, n).Clear();
            return false;
        }
        float sum = 0;
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vmax = Vector256.Create(max);
            var vsum = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var e = Vector256.Exp(Vector256.Load(x + i) - vmax);
                e.Store(x + i);
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
        Scale(x, n, 1f / sum);
        return true;
    }

    /// <summary>2^112: the factor between a half code's value and its <see cref="ScaledHalfLanes"/> bits.</summary>
    private const float HalfRebias = 5.192297e33f;

    /// <summary>
    /// scaled = q·2^112 when every |q| is below 2^16 (so nothing overflows and each product with a k·2^−112 equals q·k);
    /// false otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool ScaleQuery(float* q, int n, float* scaled)
    {
        for (int i = 0; i < n; i++)
        {
            float x = q[i];
            if (!(MathF.Abs(x) < 65536f)) return false; // NaN too
            scaled[i] = x * HalfRebias;
        }
        return true;
    }
}
