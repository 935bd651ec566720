using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Speculative;

/// <summary>
/// Self-speculative drafting with QuickSilver's halting layer: the first <see cref="ExitLayer"/> blocks, then the final norm
/// and head (the logit lens the halting rule already reads), propose greedy tokens at a fraction of a full step's cost; the
/// full model then verifies them all in one pass. This makes halting lossless at decode: a halted guess is only a draft.
/// </summary>
/// <remarks>
/// <para>K/V. A draft step writes its token's K/V into the sequence's own caches of the shallow layers (so the next draft
/// attends to it), and <see cref="Propose"/> removes them again before returning: the cache then holds exactly what it held
/// before, and the verifying pass recomputes those positions at every layer. Nothing a draft computed reaches the output.</para>
/// <para>Not thread-safe; use from the thread that owns the sequence (TorchSharp's dispose scopes are thread-static).</para>
/// </remarks>
public sealed class EarlyExitDrafter
{
    private readonly TransformerModel _model;

    /// <summary>Creates a drafter that exits after <paramref name="exitLayer"/> blocks (1 to the model's layers − 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="exitLayer"/> leaves no layer to skip.</exception>
    public EarlyExitDrafter(TransformerModel model, int exitLayer)
    {
        ArgumentNullException.ThrowIfNull(model);
        int layers = model.Config.NumLayers;
        if (exitLayer < 1 || exitLayer >= layers)
            throw new ArgumentOutOfRangeException(nameof(exitLayer), exitLayer, $"The early-exit layer must be between 1 and {layers - 1} for a model of {layers} layers.");
        _model = model;
        ExitLayer = exitLayer;
    }

    /// <summary>Blocks a draft step runs.</summary>
    public int ExitLayer { get; }

    /// <summary>
    /// The exit layer for <paramref name="policy"/>: its halting minimum layer when halting is on and that leaves layers to skip,
    /// else half the depth (at least 1).
    /// </summary>
    public static int DefaultExitLayer(ModelConfig config, QuickSilverPolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(config);
        int layers = config.NumLayers;
        if (layers < 2) return 0;
        if (policy is { Halting.Enabled: true })
        {
            int min = policy.Halting.ResolveMinLayer(layers);
            if (min >= 1 && min < layers) return min;
        }
        return Math.Max(1, layers / 2);
    }

    /// <summary>
    /// Drafts up to <paramref name="maxTokens"/> greedy tokens after <paramref name="pendingToken"/>, the token sampled last and
    /// not yet in <paramref name="cache"/> (it sits at position <c>cache.Length</c>). The cache is left as it was.
    /// </summary>
    public IReadOnlyList<int> Propose(KvCache cache, int pendingToken, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        if ((uint)pendingToken >= (uint)_model.Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(pendingToken), pendingToken, "The token is outside the vocabulary.");
        int start = cache.Length;
        // The verifying pass needs room for the pending token and every draft.
        int room = cache.ContextLength - start - 1;
        int count = Math.Min(maxTokens, room);
        var drafts = new List<int>(Math.Max(count, 0));
        try
        {
            int token = pendingToken;
            for (int i = 0; i < count; i++)
            {
                token = Step(cache, token, start + i);
                drafts.Add(token);
            }
        }
        finally
        {
            if (drafts.Count > 0 || count > 0) cache.TruncateFrom(start);
        }
        return drafts;
    }

    private int Step(KvCache cache, int token, int position)
    {
        if (_model.SupportsRows && RowsFit(cache)) return StepRow(cache, token, position);
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(new long[] { token }, [1, 1], torch.int64, _model.Device);
        var positions = TensorScalars.Range(position, position + 1, torch.int64, _model.Device);
        var h = _model.Embed(ids, positions); // (1, 1, d)
        for (int l = 0; l < ExitLayer; l++)
            h = _model.Blocks[l].Forward(new BlockInput { Hidden = h, Positions = positions, FirstPosition = position, Cache = cache[l] }).Hidden;
        using var logits = _model.Logits(h).reshape(-1); // (V)
        return (int)logits.argmax().item<long>();
    }

    private bool RowsFit(KvCache cache)
    {
        for (int l = 0; l < ExitLayer; l++) if (!cache[l].SupportsRows) return false;
        return true;
    }

    /// <summary>The draft step on host rows (the decode row path cut after the exit layer): no libtorch dispatch per op.</summary>
    private int StepRow(KvCache cache, int token, int position)
    {
        int d = _model.Config.HiddenSize;
        var hidden = RowBuffers.Get(RowBuffers.Model, d);
        _model.EmbedRow(token, position, hidden);
        for (int l = 0; l < ExitLayer; l++) _model.Blocks[l].ForwardRow(hidden, position, cache[l]);
        _logits ??= new float[_model.Config.VocabSize];
        _model.LogitsRow(hidden, _logits);
        return Generation.TokenSampler.ArgMax(_logits);
    }

    private float[]? _logits;
}
