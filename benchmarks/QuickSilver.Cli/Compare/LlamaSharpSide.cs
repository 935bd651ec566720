using LLama;
using LLama.Common;
using LLama.Native;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Compare;

/// <summary>
/// The LLamaSharp side: llama.cpp through LLamaSharp 0.30 with LLamaSharp.Backend.Cpu, CPU only, on the GGUF as stored
/// (its own tensor types, its own tokenizer), with the same thread count for prompt and generation.
/// </summary>
internal static class LlamaSharpSide
{
    public const string Description =
        "llama.cpp (LLamaSharp 0.30, CPU backend) on the GGUF's own tensor types; prefill = one llama_decode of the prompt with logits for the last position; " +
        "decode = one llama_decode per token with greedy argmax on the host; perplexity = log-softmax of llama.cpp's logits for every position, same windows as ours.";

    public static SideResult Run(CompareSettings s, Reporter reporter)
    {
        var result = new SideResult { Side = "llamasharp", Computes = Description };
        try
        {
            RunCore(s, result, reporter);
            result.Ok = true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Typically RuntimeError / DllNotFoundException / TypeInitializationException when the native library cannot load here.
            result.Ok = false;
            result.Error = $"{e.GetType().Name}: {e.Message}" + (e.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : "");
        }
        result.PeakRssBytes = MachineInfo.PeakRssBytes();
        return result;
    }

    private static void RunCore(CompareSettings s, SideResult result, Reporter reporter)
    {
        try
        {
            NativeLibraryConfig.All.WithLogCallback((level, message) => { });
        }
        catch (InvalidOperationException)
        {
            // llama.cpp is already loaded in this process (e.g. by the conformance command's oracle): its log setting stays.
        }
        string text = TextInput.Read(s.Text, "--text");
        int threads = s.Threads > 0 ? s.Threads : Environment.ProcessorCount;
        uint contextSize = (uint)Math.Max(s.PromptTokens, Math.Max(s.Window, s.DecodePromptTokens + s.DecodeTokens + 1));
        var parameters = new ModelParams(s.Model)
        {
            ContextSize = contextSize, BatchSize = contextSize, UBatchSize = contextSize, Threads = threads, BatchThreads = threads, GpuLayerCount = 0,
        };
        using var weights = reporter.Task("LLamaSharp: loading", 1, _ => LLamaWeights.LoadFromFile(parameters));
        using var context = weights.CreateContext(parameters);
        var handle = context.NativeHandle;
        var all = context.Tokenize(text, true, false).ToList();
        result.TextTokens = all.Count;
        var ids = all.Take(s.MaxTokens).ToList();
        var prompt = Repeat(all, s.PromptTokens);
        result.PrefillTokens = prompt.Count;
        var batch = new LLamaBatch();

        void DecodeOrThrow()
        {
            var status = context.Decode(batch);
            if (status != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {status}.");
        }
        void Prefill(IReadOnlyList<LLamaToken> tokens, bool allLogits)
        {
            handle.MemoryClear(true);
            batch.Clear();
            for (int i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, LLamaSeqId.Zero, allLogits || i == tokens.Count - 1);
            DecodeOrThrow();
        }

        result.PrefillSeconds = reporter.Task($"LLamaSharp: prefill {prompt.Count} tokens", s.Runs, p =>
            Summary.Of(Timing.Interleaved(s.Runs, [() => Prefill(prompt, false)], r => p(r))[0]));

        var decodePrompt = Repeat(all, s.DecodePromptTokens);
        result.DecodeTokens = s.DecodeTokens;
        result.DecodeSecondsPerToken = reporter.Task($"LLamaSharp: decode {s.DecodeTokens} tokens", s.DecodeTokens, p =>
        {
            Prefill(decodePrompt, false);
            int position = decodePrompt.Count;
            var perToken = new List<double>();
            for (int i = 0; i < s.DecodeTokens; i++)
            {
                var logits = handle.GetLogitsIth(batch.TokenCount - 1);
                int next = ArgMax(logits);
                perToken.Add(Timing.SecondsNoGc(() =>
                {
                    batch.Clear();
                    batch.Add((LLamaToken)next, position, LLamaSeqId.Zero, true);
                    DecodeOrThrow();
                    _ = handle.GetLogitsIth(0)[0];
                }));
                position++;
                p(i + 1);
            }
            return Summary.Of(perToken);
        });

        var windows = PplWindows.Schedule(ids.Count, s.Window, s.Stride).ToList();
        (result.Perplexity, result.ScoredTokens) = reporter.Task($"LLamaSharp: perplexity over {ids.Count} tokens", windows.Count, p =>
        {
            double nll = 0;
            long scored = 0;
            int done = 0;
            foreach (var (begin, end, first) in windows)
            {
                Prefill(ids.GetRange(begin, end - begin), allLogits: true);
                for (int target = first; target <= end; target++)
                {
                    nll += PplWindows.Nll(handle.GetLogitsIth(target - 1 - begin), (int)ids[target]);
                    scored++;
                }
                p(++done);
            }
            return (Math.Exp(nll / scored), scored);
        });
    }

    private static List<LLamaToken> Repeat(List<LLamaToken> tokens, int count)
    {
        var list = new List<LLamaToken>(count);
        while (list.Count < count) list.AddRange(tokens.Take(count - list.Count));
        return list;
    }

    private static int ArgMax(Span<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
