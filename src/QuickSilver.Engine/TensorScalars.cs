using TorchSharp;

namespace QuickSilver.Engine;

/// <summary>
/// Tensor arithmetic with plain numbers, with the TorchSharp <see cref="Scalar"/> each op needs made explicitly and kept
/// alive until the native call returns.
/// </summary>
/// <remarks>
/// Why this exists: a Scalar made inside an expression (<c>x * 0.5</c>, <c>x.pow(2)</c>, <c>clamp_min(1e-12)</c>,
/// <c>torch.arange(n)</c>, and even <c>a + b</c>, whose TorchSharp overload adds with an implicit <c>alpha = 1</c>) is
/// unreachable once its native handle has been read. The GC may then finalize it while libtorch is still reading it,
/// which showed up as random libtorch asserts and corrupt results in the tests. Each helper here holds its Scalars in a
/// <c>using</c> local, which both frees them promptly and keeps them reachable across the call. The IL rule in
/// <c>tests/Shared/Hygiene/ScalarLifetimeScanner.cs</c> rejects any other way of making a Scalar in the product code.
/// Integer overloads exist so integer tensors stay integer (a double Scalar would promote them to float).
/// </remarks>
internal static class TensorScalars
{
    /// <summary><paramref name="a"/> + <paramref name="b"/> (the replacement for the <c>+</c> operator on tensors).</summary>
    public static torch.Tensor Sum(torch.Tensor a, torch.Tensor b)
    {
        using var one = 1.ToScalar();
        return a.add(b, one);
    }

    /// <summary><paramref name="a"/> += <paramref name="b"/>, in place; returns <paramref name="a"/>.</summary>
    public static torch.Tensor AddInPlace(torch.Tensor a, torch.Tensor b)
    {
        using var one = 1.ToScalar();
        return a.add_(b, one);
    }

    /// <summary><paramref name="a"/> + <paramref name="alpha"/> · <paramref name="b"/>.</summary>
    public static torch.Tensor SumScaled(torch.Tensor a, torch.Tensor b, double alpha)
    {
        using var s = alpha.ToScalar();
        return a.add(b, s);
    }

    /// <summary><paramref name="t"/> + <paramref name="value"/>.</summary>
    public static torch.Tensor Plus(torch.Tensor t, double value)
    {
        using var s = value.ToScalar();
        using var one = 1.ToScalar();
        return t.add(s, one);
    }

    /// <summary><paramref name="t"/> · <paramref name="factor"/>.</summary>
    public static torch.Tensor Times(torch.Tensor t, double factor)
    {
        using var s = factor.ToScalar();
        return t.mul(s);
    }

    /// <summary><paramref name="t"/> · <paramref name="factor"/>, keeping an integer tensor integer.</summary>
    public static torch.Tensor Times(torch.Tensor t, long factor)
    {
        using var s = factor.ToScalar();
        return t.mul(s);
    }

    /// <summary><paramref name="t"/> / <paramref name="divisor"/> (true division).</summary>
    public static torch.Tensor DividedBy(torch.Tensor t, double divisor)
    {
        using var s = divisor.ToScalar();
        return t.div(s);
    }

    /// <summary>Element-wise remainder of <paramref name="t"/> by <paramref name="divisor"/>, keeping an integer tensor integer.</summary>
    public static torch.Tensor Remainder(torch.Tensor t, long divisor)
    {
        using var s = divisor.ToScalar();
        return t.remainder(s);
    }

    /// <summary><paramref name="t"/> raised to <paramref name="exponent"/>.</summary>
    public static torch.Tensor Power(torch.Tensor t, double exponent)
    {
        using var s = exponent.ToScalar();
        return t.pow(s);
    }

    /// <summary><paramref name="t"/> raised to an integer <paramref name="exponent"/> (libtorch's integer-power paths).</summary>
    public static torch.Tensor Power(torch.Tensor t, long exponent)
    {
        using var s = exponent.ToScalar();
        return t.pow(s);
    }

    /// <summary><paramref name="baseValue"/> raised to each element of <paramref name="exponents"/>.</summary>
    /// <remarks>TorchSharp has no pow(Scalar, Tensor): the base is a 0-d tensor of the exponents' type.</remarks>
    public static torch.Tensor PowerOf(double baseValue, torch.Tensor exponents)
    {
        using var b = torch.tensor(baseValue, exponents.dtype, exponents.device);
        return torch.pow(b, exponents);
    }

    /// <summary>0, 1, …, <paramref name="stop"/> − 1.</summary>
    public static torch.Tensor Range(long stop, torch.ScalarType dtype, torch.Device? device = null) => Range(0, stop, 1, dtype, device);

    /// <summary><paramref name="start"/>, …, <paramref name="stop"/> − 1.</summary>
    public static torch.Tensor Range(long start, long stop, torch.ScalarType dtype, torch.Device? device = null) =>
        Range(start, stop, 1, dtype, device);

    /// <summary><paramref name="start"/>, <paramref name="start"/> + <paramref name="step"/>, … below <paramref name="stop"/>.</summary>
    public static torch.Tensor Range(long start, long stop, long step, torch.ScalarType dtype, torch.Device? device = null)
    {
        using var first = start.ToScalar();
        using var end = stop.ToScalar();
        using var stride = step.ToScalar();
        return torch.arange(first, end, stride, dtype, device);
    }

    /// <summary><paramref name="t"/> with every element below <paramref name="min"/> raised to it.</summary>
    public static torch.Tensor ClampedMin(torch.Tensor t, double min)
    {
        using var s = min.ToScalar();
        return t.clamp_min(s);
    }

    /// <summary><paramref name="t"/> clamped into [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static torch.Tensor Clamped(torch.Tensor t, double min, double max)
    {
        using var low = min.ToScalar();
        using var high = max.ToScalar();
        return t.clamp(low, high);
    }

    /// <summary><paramref name="t"/> with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static torch.Tensor MaskedFill(torch.Tensor t, torch.Tensor mask, double value)
    {
        using var s = value.ToScalar();
        return t.masked_fill(mask, s);
    }

    /// <summary>Element-wise <paramref name="t"/> ≥ <paramref name="value"/>.</summary>
    public static torch.Tensor AtLeast(torch.Tensor t, long value)
    {
        using var s = value.ToScalar();
        return t.ge(s);
    }

    /// <summary>Element-wise <paramref name="t"/> &lt; <paramref name="value"/>.</summary>
    public static torch.Tensor Below(torch.Tensor t, long value)
    {
        using var s = value.ToScalar();
        return t.lt(s);
    }

    /// <summary>Element-wise <paramref name="t"/> &lt; <paramref name="value"/>.</summary>
    public static torch.Tensor Below(torch.Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.lt(s);
    }

    /// <summary>Element-wise <paramref name="t"/> &gt; <paramref name="value"/>.</summary>
    public static torch.Tensor Above(torch.Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.gt(s);
    }

    /// <summary>A tensor of <paramref name="shape"/> filled with <paramref name="value"/>.</summary>
    public static torch.Tensor Filled(long[] shape, double value, torch.ScalarType dtype, torch.Device? device = null)
    {
        using var s = value.ToScalar();
        return torch.full(shape, s, dtype, device);
    }
}
