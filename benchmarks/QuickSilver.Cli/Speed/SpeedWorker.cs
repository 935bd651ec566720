using System.Diagnostics;
using System.Runtime.InteropServices;
using LLama;
using LLama.Common;
using LLama.Native;
using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Cli.Speed;

/// <summary>
/// One engine on one file, in its own process: load, prefill of a random prompt (median of runs after a warm-up, fresh
/// cache, last-position logits), then greedy decode after a 32-token prompt (median seconds per token), then peak RSS.
/// Ours also decodes a few tokens with the per-operation profile on, and a few on the tensor path (no host row path).
/// </summary>
internal static class SpeedWorker
{
    public const string Ours = "quicksilver", LlamaCpp = "llama.cpp";
    private const int DecodePrompt = 32;
    private const int ProfileTokens = 32;

    public static SpeedSide Run(string engine, string model, int threads, int promptTokens, int decodeTokens, int runs, KvCacheType kvType = KvCacheType.Float32)
    {
        var side = new SpeedSide { Engine = engine };
        try
        {
            if (engine == Ours) RunOurs(side, model, threads, promptTokens, decodeTokens, runs, kvType);
            else RunLlamaCpp(side, model, threads, promptTokens, decodeTokens, runs);
            side.Ok = true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            side.Error = $"{e.GetType().Name}: {e.Message}";
            Console.Error.WriteLine(e); // the stack, for whoever reads the worker output
        }
        side.PeakRssBytes = MachineInfo.PeakRssBytes();
        return side;
    }

    private static void RunOurs(SpeedSide side, string path, int threads, int promptTokens, int decodeTokens, int runs, KvCacheType kvType)
    {
        using var sampler = MemoryStage.TraceEnabled ? new AllocationSampler() : null;
        long start = Stopwatch.GetTimestamp();
        using var model = LanguageModel.Load(path, new LanguageModelOptions { Threads = threads, KvCacheType = kvType });
        side.LoadSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        MemoryStage.Record(side, MemoryStage.AfterLoad);
        side.WeightFormats = string.Join(", ", model.Transformer.Matrices.GroupBy(m => m.Format).Select(g => $"{g.Key}×{g.Count()}"));
        var ids = Prefill.RandomTokens(promptTokens, model.Config.VocabSize - 3, seed: 5).Select(i => i + 3).ToArray();
        using (var prefill = new Prefill(model, ids))
        {
            side.PrefillTokens = ids.Length;
            long allocated = 0;
            side.PrefillSeconds = Summary.Of(Timing.Interleaved(runs, [() =>
            {
                long before = GC.GetTotalAllocatedBytes(precise: true);
                prefill.Run();
                allocated = GC.GetTotalAllocatedBytes(precise: true) - before; // the last run's (warm: no first-call costs)
            }])[0]).Median;
            side.ManagedBytesPerPrefill = allocated;
            MemoryStage.Record(side, MemoryStage.AfterPrefill);
        }
        using var noGrad = torch.no_grad();
        // Room for the timed decode, then a profiled pass and a pass on the tensor path (the engine before issue 11 part 3).
        int extra = Math.Min(ProfileTokens, decodeTokens);
        int capacity = DecodePrompt + decodeTokens + (2 * extra) + 1;
        using var cache = new KvCache(model.Config, capacity, model.Transformer.Device, capacity, model.KvCacheType);
        int next = 0;
        // The next token is read off the logits tensor's storage, as the peer reads llama.cpp's logits in place
        // (GetLogitsIth): no managed copy of the vocabulary per token (a 128 KB large-object array that only the harness made).
        void Step(IReadOnlyList<int> tokens)
        {
            using var output = model.Runner.Run(new ForwardInput { TokenIds = tokens, StartPosition = cache.Length, Cache = cache });
            using var last = output.Logits.select(0, output.Logits.shape[0] - 1).contiguous(); // (V)
            next = ArgMax(MemoryMarshal.Cast<byte, float>(last.bytes));
        }
        List<double> Decode(int count)
        {
            var perToken = new List<double>(count);
            for (int i = 0; i < count; i++)
            {
                int token = next;
                perToken.Add(Timing.SecondsNoGc(() => Step([token])));
            }
            return perToken;
        }
        Dictionary<string, double> Profiled(int count)
        {
            OpProfile.Reset();
            OpProfile.Enabled = true;
            var perToken = Decode(count);
            OpProfile.Enabled = false;
            var profile = OpProfile.Snapshot().ToDictionary(p => p.Key, p => p.Value.Seconds / count);
            profile[OutsideForward] = Math.Max(0, perToken.Average() - profile.Values.Sum());
            return profile;
        }
        if (MemoryStage.TraceEnabled) MemoryStage.Trace("before decode");
        Step(ids[..DecodePrompt]);
        side.DecodeTokens = decodeTokens;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long decodeStart = GC.GetTotalAllocatedBytes(precise: true); // after the Process object, so only decode's garbage counts
        side.DecodeSecondsPerToken = Summary.Of(Decode(decodeTokens)).Median;
        side.ManagedBytesPerDecodeToken = (GC.GetTotalAllocatedBytes(precise: true) - decodeStart) / Math.Max(1, decodeTokens);
        side.DecodeCpuSecondsPerToken = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / decodeTokens;
        MemoryStage.Record(side, MemoryStage.AfterDecode);
        side.DecodeProfile = Profiled(extra);
        bool rowPath = model.Runner.DecodeRowPath;
        model.Runner.DecodeRowPath = false;
        side.TensorPathDecodeProfile = Profiled(extra);
        side.TensorPathDecodeSecondsPerToken = side.TensorPathDecodeProfile.Values.Sum();
        model.Runner.DecodeRowPath = rowPath;
    }

    /// <summary>Profile key of the time a decode step spends outside the engine's timed operations.</summary>
    public const string OutsideForward = "everything else (dispatch, tensor bookkeeping, logits copy, argmax)";

    private static void RunLlamaCpp(SpeedSide side, string path, int threads, int promptTokens, int decodeTokens, int runs)
    {
        // The peer runs with OpenMP's own defaults: our engine's module initializer may have set OMP_WAIT_POLICY=PASSIVE
        // in this process before llama.cpp's libgomp loads; undo it (the parent already stripped it from our environment).
        if (OperatingSystem.IsLinux()) _ = Unsetenv("OMP_WAIT_POLICY");
        NativeLibraryConfig.All.WithLogCallback((level, message) => { });
        uint contextSize = (uint)Math.Max(promptTokens, DecodePrompt + decodeTokens + 1);
        var parameters = new ModelParams(path) { ContextSize = contextSize, BatchSize = contextSize, UBatchSize = contextSize, Threads = threads, BatchThreads = threads, GpuLayerCount = 0 };
        long start = Stopwatch.GetTimestamp();
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        side.LoadSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        MemoryStage.Record(side, MemoryStage.AfterLoad);
        var handle = context.NativeHandle;
        var batch = new LLamaBatch();
        var ids = Prefill.RandomTokens(promptTokens, weights.Vocab.Count - 3, seed: 5).Select(i => (LLamaToken)(i + 3)).ToArray();
        void Decode()
        {
            var status = context.Decode(batch);
            if (status != LLama.Native.DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {status}.");
        }
        void Fill(IReadOnlyList<LLamaToken> tokens)
        {
            handle.MemoryClear(true);
            batch.Clear();
            for (int i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, LLamaSeqId.Zero, i == tokens.Count - 1);
            Decode();
        }
        side.PrefillTokens = ids.Length;
        side.PrefillSeconds = Summary.Of(Timing.Interleaved(runs, [() => Fill(ids)])[0]).Median;
        MemoryStage.Record(side, MemoryStage.AfterPrefill);

        Fill(ids[..DecodePrompt]);
        int position = DecodePrompt;
        var perToken = new List<double>();
        for (int i = 0; i < decodeTokens; i++)
        {
            int next = ArgMax(handle.GetLogitsIth(batch.TokenCount - 1));
            perToken.Add(Timing.SecondsNoGc(() =>
            {
                batch.Clear();
                batch.Add((LLamaToken)next, position, LLamaSeqId.Zero, true);
                Decode();
                _ = handle.GetLogitsIth(0)[0];
            }));
            position++;
        }
        side.DecodeTokens = decodeTokens;
        side.DecodeSecondsPerToken = Summary.Of(perToken).Median;
        MemoryStage.Record(side, MemoryStage.AfterDecode);
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    [DllImport("libc", EntryPoint = "unsetenv", CharSet = CharSet.Ansi)]
    private static extern int Unsetenv(string name);
}
