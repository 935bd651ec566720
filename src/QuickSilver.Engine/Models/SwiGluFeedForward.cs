using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>down(silu(gate(x)) · up(x)): Llama's MLP. Gate and up run as one matmul.</summary>
public sealed class SwiGluFeedForward : IFeedForward
{
    private readonly torch.Tensor _gateUp; // (2I, d)
    private readonly torch.Tensor? _gateUpBias;
    private readonly torch.Tensor _down;
    private readonly torch.Tensor? _downBias;
    private readonly long _inner;

    /// <summary>Creates the MLP; it takes ownership of the tensors.</summary>
    public SwiGluFeedForward(torch.Tensor gate, torch.Tensor? gateBias, torch.Tensor up, torch.Tensor? upBias, torch.Tensor down, torch.Tensor? downBias)
    {
        _inner = gate.shape[0];
        _gateUp = torch.cat([gate, up], 0);
        _gateUpBias = gateBias is null || upBias is null ? null : torch.cat([gateBias, upBias], 0);
        gate.Dispose(); up.Dispose(); gateBias?.Dispose(); upBias?.Dispose();
        (_down, _downBias) = (down, downBias);
        FlopsPerToken = 2.0 * 3 * _inner * down.shape[0];
    }

    /// <inheritdoc />
    public double FlopsPerToken { get; }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var both = torch.nn.functional.linear(x, _gateUp, _gateUpBias); // (…, 2I)
        var gate = both.narrow(-1, 0, _inner);
        var up = both.narrow(-1, _inner, _inner);
        var hidden = torch.nn.functional.silu(gate, false) * up;
        return torch.nn.functional.linear(hidden, _down, _downBias).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _gateUp.Dispose(); _gateUpBias?.Dispose(); _down.Dispose(); _downBias?.Dispose();
    }
}
