using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>down(gelu_tanh(up(x))): GPT-2's MLP with gelu_new.</summary>
public sealed class GeluFeedForward : IFeedForward
{
    private readonly torch.Tensor _up, _down;
    private readonly torch.Tensor? _upBias, _downBias;

    /// <summary>Creates the MLP; it takes ownership of the tensors.</summary>
    public GeluFeedForward(torch.Tensor up, torch.Tensor? upBias, torch.Tensor down, torch.Tensor? downBias)
    {
        (_up, _upBias, _down, _downBias) = (up, upBias, down, downBias);
        FlopsPerToken = 2.0 * 2 * up.shape[0] * up.shape[1];
    }

    /// <inheritdoc />
    public double FlopsPerToken { get; }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = torch.nn.functional.linear(x, _up, _upBias);
        hidden = torch.nn.functional.gelu(hidden, TorchSharp.Modules.GELU.Approximate.tanh, false);
        return torch.nn.functional.linear(hidden, _down, _downBias).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _up.Dispose(); _down.Dispose(); _upBias?.Dispose(); _downBias?.Dispose();
    }
}
