using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Group-wise asymmetric min-max quantization of rows. Used to fake-quantize activations (quantize then
/// dequantize: the numerical effect of low precision; there is no low-bit matmul kernel, so no arithmetic is saved).
/// </summary>
public static class GroupQuantizer
{
    /// <summary>The group size actually used for a row of <paramref name="width"/>: the largest divisor of width not above <paramref name="groupSize"/>.</summary>
    public static int EffectiveGroupSize(int width, int groupSize)
    {
        int g = Math.Clamp(groupSize, 1, width);
        while (width % g != 0) g--;
        return g;
    }

    /// <summary>Quantizes each group of <paramref name="x"/>'s last dimension to <paramref name="bits"/> bits and back.</summary>
    public static torch.Tensor FakeQuantize(torch.Tensor x, int bits, int groupSize)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, 1);
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        int width = (int)shape[^1];
        int g = EffectiveGroupSize(width, groupSize);
        var grouped = x.reshape(-1, width / g, g); // (rows, groups, g)
        var min = grouped.amin([-1], keepdim: true);
        var max = grouped.amax([-1], keepdim: true);
        double levels = (1 << bits) - 1;
        var scale = TensorScalars.ClampedMin(TensorScalars.DividedBy(max - min, levels), 1e-12);
        var codes = TensorScalars.Clamped(((grouped - min) / scale).round(), 0, levels);
        return TensorScalars.Sum(codes * scale, min).reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>The worst-case absolute error of <see cref="FakeQuantize"/> for a group spanning <paramref name="range"/>: half a step.</summary>
    public static double ErrorBound(double range, int bits) => range / ((1 << bits) - 1) / 2;
}
