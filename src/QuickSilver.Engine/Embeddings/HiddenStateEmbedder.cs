using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Embeddings;

/// <summary>
/// Sentence embeddings from a decoder-only language model: the mean over the text's tokens (BOS excluded) of the final-norm
/// hidden state, L2-normalized.
/// This is a baseline: a causal model is not trained for retrieval, so a dedicated embedding model ranks passages better. It
/// needs no extra weights and runs one dense forward pass per text.
/// </summary>
public sealed class HiddenStateEmbedder
{
    private readonly LanguageModel _model;

    /// <summary>Embeds with <paramref name="model"/> (shared, not owned; reading weights is thread-safe).</summary>
    public HiddenStateEmbedder(LanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>Length of every embedding: the model's hidden size.</summary>
    public int Dimensions => _model.Config.HiddenSize;

    /// <summary>
    /// Embeds <paramref name="text"/>. Texts longer than the model's context keep their first <see cref="LanguageModel.ContextLength"/>
    /// tokens. An empty text embeds as its BOS token alone (or a zero vector when the vocabulary has no BOS).
    /// </summary>
    public float[] Embed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<int> ids = _model.Tokenizer.Encode(text, addBos: true);
        if (ids.Count == 0) return new float[Dimensions];
        int t = Math.Min(ids.Count, _model.ContextLength);
        TransformerModel transformer = _model.Transformer;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var tokens = torch.tensor(ids.Take(t).Select(i => (long)i).ToArray(), [1, t], torch.int64, transformer.Device); // (1, T)
        var positions = TensorScalars.Range(t, torch.int64, transformer.Device); // (T)
        var h = transformer.Embed(tokens, positions); // (1, T, d)
        foreach (TransformerBlock block in transformer.Blocks)
        {
            h = block.Forward(new BlockInput { Hidden = h, Positions = positions, FirstPosition = 0 }).Hidden;
        }
        // The BOS position carries no content and a large, text-independent state (an attention sink): leave it out of the mean.
        int skip = t > 1 && ids[0] == _model.Tokenizer.BosTokenId ? 1 : 0;
        var pooled = transformer.FinalNorm.Apply(h).narrow(1, skip, t - skip).mean([1]).squeeze(0); // (d)
        var unit = pooled / TensorScalars.ClampedMin(pooled.norm(), 1e-12);
        return unit.to(torch.float32).cpu().data<float>().ToArray();
    }
}
