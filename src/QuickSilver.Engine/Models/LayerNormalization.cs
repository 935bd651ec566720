using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>LayerNorm with weight and bias (biased variance), as GPT-2 uses.</summary>
public sealed unsafe class LayerNormalization : INormalization, IRowNormalization
{
    private readonly torch.Tensor _weight;
    private readonly torch.Tensor _bias;
    private readonly long[] _shape;
    private readonly double _eps;

    /// <summary>Creates the layer; it takes ownership of the tensors.</summary>
    public LayerNormalization(torch.Tensor weight, torch.Tensor bias, double eps)
    {
        _weight = weight;
        _bias = bias;
        _shape = [weight.shape[0]];
        _eps = eps;
    }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x) => torch.nn.functional.layer_norm(x, _shape, _weight, _bias, _eps);

    /// <inheritdoc />
    bool IRowNormalization.SupportsRows => Runtime.HostMemory.IsHostFloat32(_weight) && Runtime.HostMemory.IsHostFloat32(_bias);

    /// <inheritdoc />
    void IRowNormalization.ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        if (_rowWeight is null)
        {
            _rowBias = Runtime.HostMemory.Floats(_bias);
            _rowWeight = Runtime.HostMemory.Floats(_weight);
        }
        int n = (int)_shape[0];
        Kernels.RowOps.LayerNorm(x[..n], new ReadOnlySpan<float>(_rowWeight, n), new ReadOnlySpan<float>(_rowBias, n), _eps, y);
    }

    private float* _rowWeight, _rowBias;

    /// <inheritdoc />
    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
    }
}
