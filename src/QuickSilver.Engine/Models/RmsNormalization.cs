using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>RMSNorm: x / sqrt(mean(x²) + eps) · w, as Llama uses.</summary>
public sealed unsafe class RmsNormalization : INormalization, IRowNormalization
{
    private readonly torch.Tensor _weight;
    private readonly double _eps;

    /// <summary>Creates the layer; it takes ownership of the weight.</summary>
    public RmsNormalization(torch.Tensor weight, double eps)
    {
        _weight = weight;
        _eps = eps;
    }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var meanSquare = TensorScalars.Power(x, 2).mean([-1], keepdim: true);
        return (x * torch.rsqrt(TensorScalars.Plus(meanSquare, _eps)) * _weight).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    bool IRowNormalization.SupportsRows => Runtime.HostMemory.IsHostFloat32(_weight);

    /// <inheritdoc />
    void IRowNormalization.ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        if (_rowWeight is null)
        {
            _rowWeight = Runtime.HostMemory.Floats(_weight);
            _rowWidth = (int)_weight.shape[0]; // read once: a tensor's shape is a P/Invoke and an array per read, twice per row and layer
        }
        int n = _rowWidth;
        Kernels.RowOps.RmsNorm(x[..n], new ReadOnlySpan<float>(_rowWeight, n), _eps, y);
    }

    private float* _rowWeight;
    private int _rowWidth;

    /// <inheritdoc />
    public void Dispose() => _weight.Dispose();
}
