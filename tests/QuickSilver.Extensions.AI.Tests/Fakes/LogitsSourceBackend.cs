using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// An engine that is only a source of logits: its "model" gives the token it wants next (from a script over the prompt)
/// a logit of 10 and every other token a seeded noise logit in [0, 1). Everything else is the engine's: the real
/// <see cref="Sampler"/> (penalties, the request's constraint, temperature) and InferenceSession's decode loop (stop ids,
/// constraint completion, token budget), so the chat client's tool-call path is tested against real decoding.
/// </summary>
internal sealed class LogitsSourceBackend(ITokenizer tokenizer, Func<IReadOnlyList<int>, IReadOnlyList<int>> script, int contextLength = 16384) : IQuickSilverBackend
{
    public Func<IReadOnlyList<int>, IReadOnlyList<int>> Script { get; } = script;

    public string ModelId => "logits-source";

    public ITokenizer Tokenizer => tokenizer;

    public int ContextLength => contextLength;

    public Dictionary<string, string> MetadataValues { get; } = [];

    public IReadOnlyDictionary<string, string> Metadata => MetadataValues;

    public object? Model => null;

    /// <summary>Every prompt the engine received, in order, with its request.</summary>
    public List<(IReadOnlyList<int> Prompt, GenerationRequest Request)> Calls { get; } = [];

    public IQuickSilverSession CreateSession() => new Session(this);

    public void Dispose() { }

    private sealed class Session(LogitsSourceBackend owner) : IQuickSilverSession
    {
        private List<int> _cached = [];

        public IReadOnlyList<int> CachedTokens => _cached;

        public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, Action<int>? onToken, CancellationToken cancellationToken)
        {
            lock (owner.Calls) owner.Calls.Add((promptIds.ToList(), request));
            Sampler.Validate(request);
            var sampler = new Sampler(request, promptIds);
            var stops = new HashSet<int>(request.StopTokenIds);
            if (owner.Tokenizer.EosTokenId >= 0) stops.Add(owner.Tokenizer.EosTokenId);
            IReadOnlyList<int> wanted = owner.Script(promptIds);
            int turnEnd = request.StopTokenIds.Count > 0 ? request.StopTokenIds.First() : owner.Tokenizer.EosTokenId;
            _cached = [.. promptIds];

            var generated = new List<int>();
            var finish = GenerationFinishReason.Length;
            var noise = new Random(1234);
            float[] logits = new float[owner.Tokenizer.VocabSize];
            while (true)
            {
                for (int i = 0; i < logits.Length; i++) logits[i] = (float)noise.NextDouble();
                logits[generated.Count < wanted.Count ? wanted[generated.Count] : turnEnd] = 10;
                int token = sampler.Sample(logits);
                if (stops.Contains(token)) { finish = GenerationFinishReason.Stop; break; }
                generated.Add(token);
                _cached.Add(token);
                onToken?.Invoke(token);
                if (request.Constraint?.IsComplete == true) { finish = GenerationFinishReason.ConstraintComplete; break; }
                if (generated.Count >= request.MaxNewTokens || _cached.Count >= owner.ContextLength) { finish = GenerationFinishReason.Length; break; }
                cancellationToken.ThrowIfCancellationRequested();
            }
            return new GenerationResult
            {
                Tokens = generated,
                FinishReason = finish,
                PromptTokens = promptIds.Count,
                CachedPromptTokens = 0,
                Stats = new RuntimeStats(),
                TimeToFirstTokenSeconds = 0.001,
                TotalSeconds = 0.002,
            };
        }

        public void Reset() => _cached = [];

        public void Dispose() { }
    }
}
