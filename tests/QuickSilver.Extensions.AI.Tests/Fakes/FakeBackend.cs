using System.Collections.Concurrent;
using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// A deterministic logits source. Its "model" wants to write the scripted reply for the prompt text (then EOS): the scripted
/// token gets logit 6, every other token a pseudo-random logit in [0, 4) derived from the reply position. Greedy decoding through
/// the real generator therefore writes the script exactly; sampling is seeded; constraints mask logits. Stats are simple functions
/// of the tokens run so tests can check them by hand: dense FLOPs = 1000 per token run, actual = 600, halted token-layers = 2 per
/// generated token run when halting is enabled, KV bytes = 16 per cached token, 3 skipped K/V writes.
/// </summary>
internal sealed class FakeBackend(Func<string, string>? script = null, FakeTokenizer? tokenizer = null, int contextLength = 4096, string modelId = "fake-model")
    : ScriptedStepModel(tokenizer ?? new FakeTokenizer(), contextLength, modelId)
{
    private readonly Func<string, string> _script = script ?? (_ => "Hello world");

    public FakeTokenizer FakeTokenizer => (FakeTokenizer)Tokenizer;

    /// <summary>Every request the client ran, in order, with its prompt text.</summary>
    public ConcurrentQueue<(string Prompt, GenerationRequest Request)> Requests { get; } = new();

    protected override void Record(IReadOnlyList<int> promptIds, GenerationRequest request) => Requests.Enqueue((FakeTokenizer.Decode(promptIds), request));

    protected override IReadOnlyList<int> Reply(IReadOnlyList<int> prompt)
        => [.. FakeTokenizer.Encode(_script(FakeTokenizer.Decode(prompt)), addBos: false), FakeTokenizer.Eos];

    protected override void Fill(ScriptedSequence sequence, int index, Span<float> row)
    {
        var noise = new Random(StableSeed.Combine(12345, index));
        for (int i = 0; i < row.Length; i++) row[i] = (float)(noise.NextDouble() * 4);
        if (index < sequence.Reply.Count) row[sequence.Reply[index]] = 6;
    }

    protected override void Account(ScriptedSequence sequence, int tokens, bool prompt)
    {
        var stats = sequence.Stats;
        var policy = sequence.Options.Policy;
        stats.DenseFlops += 1000 * tokens;
        stats.LayerFlops += 600 * tokens;
        if (!prompt && policy?.Halting.Enabled == true) stats.HaltedTokenLayers += 2 * tokens;
        stats.FusedTokens = policy?.Fusion.Enabled == true ? 1 : 0;
        stats.SkippedKvWrites = 3;
        stats.KvBytes = 16 * sequence.Length;
    }
}
