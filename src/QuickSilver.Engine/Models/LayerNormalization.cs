using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>LayerNorm with weight and bias (biased variance), as GPT-2 uses.</summary>
public sealed class LayerNormalization : INormalization
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
    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
    }
}
