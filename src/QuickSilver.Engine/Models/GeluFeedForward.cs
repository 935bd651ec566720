using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>down(gelu_tanh(up(x))): GPT-2's MLP with gelu_new.</summary>
public sealed class GeluFeedForward : IFeedForward, IRowFeedForward
{
    private readonly LinearWeight _up, _down;
    private readonly torch.Tensor? _upBias, _downBias;
    private Runtime.HostSpanCache _upBiasRow, _downBiasRow; // the biases' host spans, looked up once

    /// <summary>Creates the MLP from float tensors; it takes ownership of them.</summary>
    public GeluFeedForward(torch.Tensor up, torch.Tensor? upBias, torch.Tensor down, torch.Tensor? downBias)
        : this(new DenseLinearWeight(up), upBias, new DenseLinearWeight(down), downBias) { }

    /// <summary>Creates the MLP; it takes ownership of the weights and tensors.</summary>
    public GeluFeedForward(LinearWeight up, torch.Tensor? upBias, LinearWeight down, torch.Tensor? downBias)
    {
        ArgumentNullException.ThrowIfNull(up);
        ArgumentNullException.ThrowIfNull(down);
        (_up, _upBias, _down, _downBias) = (up, upBias, down, downBias);
        FlopsPerToken = 2.0 * 2 * up.OutFeatures * up.InFeatures;
    }

    /// <inheritdoc />
    public double FlopsPerToken { get; }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = _up.Apply(x, _upBias);
        hidden = torch.nn.functional.gelu(hidden, TorchSharp.Modules.GELU.Approximate.tanh, false);
        return _down.Apply(hidden, _downBias).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    bool IRowFeedForward.SupportsRows => (_upBias is null || Runtime.HostMemory.IsHostFloat32(_upBias)) && (_downBias is null || Runtime.HostMemory.IsHostFloat32(_downBias));

    /// <inheritdoc />
    void IRowFeedForward.ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        var hidden = RowBuffers.Get(RowBuffers.MlpHidden, (int)_up.OutFeatures);
        _up.ApplyRow(x, hidden);
        if (_upBias is not null) Kernels.RowOps.Add(hidden, _upBiasRow.Get(_upBias));
        Kernels.RowOps.GeluTanh(hidden);
        _down.ApplyRow(hidden, y);
        if (_downBias is not null) Kernels.RowOps.Add(y, _downBiasRow.Get(_downBias));
    }

    /// <inheritdoc />
    void IRowFeedForward.ApplyRows(ReadOnlySpan<float> x, int n, Span<float> y)
    {
        int inner = (int)_up.OutFeatures, d = (int)_down.OutFeatures;
        var hidden = RowBuffers.Get(RowBuffers.MlpHidden, n * inner); // (n, I)
        _up.ApplyRows(x, n, hidden);
        for (int i = 0; i < n; i++)
        {
            var row = hidden.Slice(i * inner, inner);
            if (_upBias is not null) Kernels.RowOps.Add(row, _upBiasRow.Get(_upBias));
            Kernels.RowOps.GeluTanh(row);
        }
        _down.ApplyRows(hidden, n, y);
        if (_downBias is not null) for (int i = 0; i < n; i++) Kernels.RowOps.Add(y.Slice(i * d, d), _downBiasRow.Get(_downBias));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _up.Dispose(); _down.Dispose(); _upBias?.Dispose(); _downBias?.Dispose();
    }
}
