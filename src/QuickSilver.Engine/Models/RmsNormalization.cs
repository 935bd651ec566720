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
        // Host float32 rows (a prefill's (1, T, d)): one pass per row with the decode row kernel instead of six libtorch
        // ops and their temporaries; each row's result is the one the row path gives that row.
        // Strided views are made contiguous first, so a row's result never depends on how the caller sliced its rows.
        if (!x.requires_grad && x.device_type == DeviceType.CPU && x.dtype == torch.ScalarType.Float32 && ((IRowNormalization)this).SupportsRows
            && x.shape[^1] == _weight.shape[0])
        {
            using var source = x.is_contiguous() ? x.alias() : x.contiguous();
            var y = torch.empty(x.shape, torch.float32); // (…, d)
            int n = (int)_weight.shape[0];
            long rows = x.NumberOfElements / n;
            float* px = Runtime.HostMemory.Floats(source), py = Runtime.HostMemory.Floats(y);
            for (long r = 0; r < rows; r++)
                ((IRowNormalization)this).ApplyRow(new ReadOnlySpan<float>(px + (r * n), n), new Span<float>(py + (r * n), n));
            return y;
        }
        using var scope = torch.NewDisposeScope();
        var meanSquare = TensorScalars.Power(x, 2).mean([-1], keepdim: true);
        return (x * torch.rsqrt(TensorScalars.Plus(meanSquare, _eps)) * _weight).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    bool IRowNormalization.SupportsRows => Runtime.HostMemory.IsHostFloat32(_weight);

    /// <inheritdoc />
    void IRowNormalization.ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        if (_rowWeight is null) _rowWeight = Runtime.HostMemory.Floats(_weight);
        int n = (int)_weight.shape[0];
        Kernels.RowOps.RmsNorm(x[..n], new ReadOnlySpan<float>(_rowWeight, n), _eps, y);
    }

    private float* _rowWeight;

    /// <inheritdoc />
    public void Dispose() => _weight.Dispose();
}
