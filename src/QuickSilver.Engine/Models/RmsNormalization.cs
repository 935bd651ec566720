using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>RMSNorm: x / sqrt(mean(x²) + eps) · w, as Llama uses.</summary>
public sealed class RmsNormalization : INormalization
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
        var meanSquare = x.pow(2).mean([-1], keepdim: true);
        return (x * torch.rsqrt(meanSquare + _eps) * _weight).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => _weight.Dispose();
}
