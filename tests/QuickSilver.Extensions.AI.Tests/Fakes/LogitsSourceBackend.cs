using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// A logits source over a real tokenizer: its "model" gives the token it wants next (from a script over the prompt ids) a logit
/// of 10 and every other token a seeded noise logit in [0, 1); past the script it wants to end its turn (the request's first
/// stop id). Everything else is the engine's generator, so the chat client's tool-call path is tested against real decoding.
/// </summary>
internal sealed class LogitsSourceBackend(ITokenizer tokenizer, Func<IReadOnlyList<int>, IReadOnlyList<int>> script, int contextLength = 16384)
    : ScriptedStepModel(tokenizer, contextLength, "logits-source")
{
    private int _turnEnd = tokenizer.EosTokenId;

    public Func<IReadOnlyList<int>, IReadOnlyList<int>> Script { get; } = script;

    /// <summary>Every prompt the client ran, in order, with its request.</summary>
    public List<(IReadOnlyList<int> Prompt, GenerationRequest Request)> Calls { get; } = [];

    protected override void Record(IReadOnlyList<int> promptIds, GenerationRequest request)
    {
        lock (Calls) Calls.Add(([.. promptIds], request));
        _turnEnd = request.StopTokenIds.Count > 0 ? request.StopTokenIds.First() : Tokenizer.EosTokenId;
    }

    protected override IReadOnlyList<int> Reply(IReadOnlyList<int> prompt) => Script(prompt);

    protected override void Fill(ScriptedSequence sequence, int index, Span<float> row)
    {
        var noise = new Random(StableSeed.Combine(1234, index));
        for (int i = 0; i < row.Length; i++) row[i] = (float)noise.NextDouble();
        row[index < sequence.Reply.Count ? sequence.Reply[index] : _turnEnd] = 10;
    }
}
