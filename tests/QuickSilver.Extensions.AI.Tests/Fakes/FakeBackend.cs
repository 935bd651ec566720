using System.Collections.Concurrent;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// A deterministic stand-in for the engine. Its "model" wants to write the scripted reply for the prompt (then EOS): the scripted
/// token gets logit 6, every other token a pseudo-random logit in [0, 4) derived from (seed, step). Greedy decoding therefore
/// writes the script exactly; sampling is seeded; constraints mask logits like the real engine. Stats are simple functions of the
/// token counts so tests can check them by hand: dense FLOPs = 1000 per processed token, actual = 600, halted token-layers =
/// 2 per generated token when halting is enabled, KV bytes = 16 per cached token.
/// </summary>
internal sealed class FakeBackend : IQuickSilverBackend
{
    private readonly Func<string, string> _script;

    public FakeBackend(Func<string, string>? script = null, FakeTokenizer? tokenizer = null, int contextLength = 4096, string modelId = "fake-model")
    {
        _script = script ?? (_ => "Hello world");
        FakeTokenizer = tokenizer ?? new FakeTokenizer();
        ContextLength = contextLength;
        ModelId = modelId;
    }

    public FakeTokenizer FakeTokenizer { get; }

    public string ModelId { get; }

    public ITokenizer Tokenizer => FakeTokenizer;

    public int ContextLength { get; }

    public Dictionary<string, string> MetadataValues { get; } = [];

    public IReadOnlyDictionary<string, string> Metadata => MetadataValues;

    public object? Model => null;

    /// <summary>Every request the backend ran, in order, with its prompt text.</summary>
    public ConcurrentQueue<(string Prompt, GenerationRequest Request)> Requests { get; } = new();

    public List<FakeSession> Sessions { get; } = [];

    /// <summary>When set, Generate waits for it before decoding (to hold a request "running").</summary>
    public ManualResetEventSlim? Gate { get; set; }

    /// <summary>Signalled when a Generate call starts.</summary>
    public SemaphoreSlim Started { get; } = new(0);

    /// <summary>Called after each generated token (e.g. to cancel mid-stream).</summary>
    public Action<int>? AfterToken { get; set; }

    public int ThreadsSeen => _threads.Count;

    private readonly ConcurrentDictionary<int, bool> _threads = new();

    public IQuickSilverSession CreateSession()
    {
        var session = new FakeSession(this);
        lock (Sessions) Sessions.Add(session);
        return session;
    }

    public void Dispose() { }

    internal sealed class FakeSession(FakeBackend owner) : IQuickSilverSession
    {
        private List<int> _cached = [];

        public bool Disposed { get; private set; }

        public IReadOnlyList<int> CachedTokens => _cached;

        public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, Action<int>? onToken, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            owner._threads[Environment.CurrentManagedThreadId] = true;
            string promptText = owner.FakeTokenizer.Decode(promptIds);
            owner.Requests.Enqueue((promptText, request));
            owner.Started.Release();
            owner.Gate?.Wait(cancellationToken);
            if (promptIds.Count >= owner.ContextLength) throw new ContextLengthExceededException(promptIds.Count, owner.ContextLength);

            int cached = 0;
            while (cached < Math.Min(_cached.Count, promptIds.Count) && _cached[cached] == promptIds[cached]) cached++;
            if (cached == promptIds.Count) cached--;   // the last prompt token is always recomputed for its logits
            _cached = [.. promptIds];

            IReadOnlyList<int> script = [.. owner.FakeTokenizer.Encode(owner._script(promptText), addBos: false), FakeTokenizer.Eos];
            var rng = request.Seed is { } seed ? new Random(unchecked((int)seed)) : new Random();
            var tokens = new List<int>();
            var stops = new HashSet<int>(request.StopTokenIds) { FakeTokenizer.Eos };
            GenerationFinishReason finish = GenerationFinishReason.Length;
            float[] logits = new float[owner.FakeTokenizer.VocabSize];
            var counts = new Dictionary<int, int>();
            while (tokens.Count < request.MaxNewTokens && _cached.Count < owner.ContextLength)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int step = tokens.Count;
                var noise = new Random(HashCode.Combine(step, 12345));
                for (int i = 0; i < logits.Length; i++) logits[i] = (float)(noise.NextDouble() * 4);
                if (step < script.Count) logits[script[step]] = 6;
                foreach ((int id, int count) in counts) logits[id] -= request.FrequencyPenalty * count + request.PresencePenalty;
                request.Constraint?.Apply(logits);
                int next = request.Temperature <= 0 ? ArgMax(logits) : Sample(logits, request.Temperature, rng);
                request.Constraint?.Accept(next);
                if (stops.Contains(next))
                {
                    finish = GenerationFinishReason.Stop;
                    break;
                }
                tokens.Add(next);
                _cached.Add(next);
                counts[next] = counts.GetValueOrDefault(next) + 1;
                onToken?.Invoke(next);
                owner.AfterToken?.Invoke(next);
                if (request.Constraint?.IsComplete == true)
                {
                    finish = GenerationFinishReason.ConstraintComplete;
                    break;
                }
            }
            long processed = promptIds.Count - cached + tokens.Count;
            return new GenerationResult
            {
                Tokens = tokens,
                FinishReason = finish,
                PromptTokens = promptIds.Count,
                CachedPromptTokens = cached,
                Stats = new RuntimeStats
                {
                    DenseFlops = 1000 * processed,
                    LayerFlops = 600 * processed,
                    HaltedTokenLayers = request.Policy?.Halting.Enabled == true ? 2 * tokens.Count : 0,
                    FusedTokens = request.Policy?.Fusion.Enabled == true ? 1 : 0,
                    SkippedKvWrites = 3,
                    KvBytes = 16 * _cached.Count,
                },
                TimeToFirstTokenSeconds = 0.01,
                TotalSeconds = 0.02,
            };
        }

        public void Reset() => _cached = [];

        public void Dispose() => Disposed = true;

        private static int ArgMax(float[] logits)
        {
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }

        private static int Sample(float[] logits, float temperature, Random rng)
        {
            double max = logits.Max();
            double[] p = logits.Select(l => float.IsNegativeInfinity(l) ? 0 : Math.Exp((l - max) / temperature)).ToArray();
            double r = rng.NextDouble() * p.Sum();
            for (int i = 0; i < p.Length; i++)
            {
                r -= p[i];
                if (r <= 0 && p[i] > 0) return i;
            }
            return ArgMax(logits);
        }
    }
}
