using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>A float weight multiplied by libtorch (<c>torch.nn.functional.linear</c>).</summary>
public sealed class DenseLinearWeight : LinearWeight
{
    private readonly bool _owns;

    /// <summary>Wraps <paramref name="weight"/> (out, in), taking ownership.</summary>
    public DenseLinearWeight(torch.Tensor weight) : this(weight, owns: true) { }

    private DenseLinearWeight(torch.Tensor weight, bool owns)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 2) throw new ArgumentException($"A linear weight is 2-D; got {weight.dim()}-D.", nameof(weight));
        (Weight, _owns) = (weight, owns);
        // The shape never changes; asking libtorch for it costs a P/Invoke and an array, on every decode product.
        (_outFeatures, _inFeatures) = (weight.shape[0], weight.shape[1]);
    }

    private readonly long _outFeatures, _inFeatures;

    /// <summary>The tensor (out, in).</summary>
    public torch.Tensor Weight { get; }

    /// <inheritdoc />
    public override long OutFeatures => _outFeatures;

    /// <inheritdoc />
    public override long InFeatures => _inFeatures;

    /// <inheritdoc />
    public override string Format => Weight.dtype.ToString().ToUpperInvariant() switch { "FLOAT32" => "F32", "FLOAT16" => "F16", "BFLOAT16" => "BF16", var other => other };

    /// <inheritdoc />
    public override long StorageBytes => Weight.NumberOfElements * Weight.ElementSize;

    /// <inheritdoc />
    public override torch.Tensor Apply(torch.Tensor x, torch.Tensor? bias = null)
    {
        long start = Runtime.OpProfile.Start();
        var y = torch.nn.functional.linear(x, Weight, bias);
        Runtime.OpProfile.Stop($"{Format} matmul (libtorch)", start);
        return y;
    }

    /// <inheritdoc />
    internal override unsafe void ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        if (_rowState == 0) _rowState = Runtime.HostMemory.IsHostFloat32(Weight) ? 1 : 2;
        if (_rowState == 2)
        {
            base.ApplyRow(x, y); // 16-bit or device weights: libtorch
            return;
        }
        if (_rowWeights is null) _rowWeights = Runtime.HostMemory.Floats(Weight);
        Kernels.FloatMatVec.Multiply(_rowWeights, (int)OutFeatures, (int)InFeatures, x, y, Kernels.KernelSettings.Threads);
    }

    /// <inheritdoc />
    internal override unsafe void ApplyRows(ReadOnlySpan<float> x, int n, Span<float> y)
    {
        if (_rowState == 0) _rowState = Runtime.HostMemory.IsHostFloat32(Weight) ? 1 : 2;
        if (_rowState == 2 || n == 1)
        {
            base.ApplyRows(x, n, y);
            return;
        }
        if (_rowWeights is null) _rowWeights = Runtime.HostMemory.Floats(Weight);
        Kernels.FloatMatVec.MultiplyRows(_rowWeights, (int)OutFeatures, (int)InFeatures, x, n, y, Kernels.KernelSettings.Threads);
    }

    private int _rowState; // 0 unknown, 1 host float32 (managed product), 2 other
    private unsafe float* _rowWeights;

    /// <inheritdoc />
    public override torch.Tensor ToDense() => Weight.to(torch.float32).clone();

    /// <inheritdoc />
    public override LinearWeight Rows(long start, long count) => new DenseLinearWeight(Weight.narrow(0, start, count), owns: true);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && _owns) Weight.Dispose();
    }
}
