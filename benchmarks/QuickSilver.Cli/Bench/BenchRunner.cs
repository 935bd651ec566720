using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Cli.Bench;

internal sealed class BenchSettings
{
    public string RandomModel { get; set; } = ModelLoader.RandomGpt2Small;
    public string? Model { get; set; }
    public int Tokens { get; set; } = 512;
    public int Runs { get; set; } = 7;
    public int MatmulReps { get; set; } = 10;
    public int DecodeTokens { get; set; } = 128;
    public int Threads { get; set; }
    public int Seed { get; set; } = 1234;
}

/// <summary>The foundation and runtime benchmarks: raw versus achieved FLOP/s, realization of prescribed profiles, overhead with nothing firing.</summary>
internal static class BenchRunner
{
    public static BenchResult Run(BenchSettings s, Reporter reporter)
    {
        var result = new BenchResult
        {
            Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"),
            Threads = torch.get_num_threads(),
            Machine = MachineInfo.Describe(),
            RandomModel = s.RandomModel,
            Tokens = s.Tokens,
            Runs = s.Runs,
        };

        using (var model = reporter.Task($"Building {s.RandomModel}", 1, _ => ModelLoader.Load(s.RandomModel, s.Threads)))
        {
            int tokens = Math.Min(s.Tokens, model.Config.MaxPositions);
            result.Matmul = reporter.Task($"Raw matmul, layer shapes at {tokens} tokens", s.MatmulReps, p => MatmulProbe.Measure(model.Config, tokens, s.MatmulReps, p));
            var ids = Prefill.RandomTokens(tokens, model.Config.VocabSize, s.Seed);
            result.DensePrefill = reporter.Task($"Dense prefill, {s.RandomModel}, {tokens} tokens", s.Runs, p => DensePrefill(model, s.RandomModel, ids, s.Runs, p));

            result.AchievedOverRawRounds = reporter.Task("Achieved/raw, interleaved with the layer matmuls", s.Runs, p => AchievedOverRaw(model, ids, s.Runs, p));
            int layers = model.Config.NumLayers;
            var profiles = new[]
            {
                Profiles.Halting(0.30, tokens, layers, s.Seed),
                Profiles.Halting(0.50, tokens, layers, s.Seed + 1),
                Profiles.Fusion(tokens, layers),
            };
            foreach (var profile in profiles)
                result.Realization.Add(reporter.Task($"Realization: {profile.Name}", s.Runs, p => Compare(model, ids, profile, s.Runs, p)));
            var overhead = Profiles.NothingFiring(tokens, layers);
            result.Overhead = reporter.Task($"Overhead: {overhead.Name}", s.Runs, p => Compare(model, ids, overhead, s.Runs, p));
            var overheadNoQ = Profiles.NothingFiring(tokens, layers, includeQuantization: false);
            result.OverheadWithoutQuantization = reporter.Task($"Overhead: {overheadNoQ.Name}", s.Runs, p => Compare(model, ids, overheadNoQ, s.Runs, p));
        }

        if (s.Model is not null)
        {
            try
            {
                using var real = ModelLoader.Load(s.Model, s.Threads);
                string name = Path.GetFileName(s.Model);
                int tokens = Math.Min(s.Tokens, real.Config.MaxPositions);
                var ids = Prefill.RandomTokens(tokens, real.Tokenizer.VocabSize, s.Seed);
                result.RealModelPrefill = reporter.Task($"Dense prefill, {name}, {tokens} tokens", s.Runs, p => DensePrefill(real, name, ids, s.Runs, p));
                result.RealModelDecode = reporter.Task($"Greedy decode, {name}, {s.DecodeTokens} tokens", s.DecodeTokens, p => Decode(real, name, s.DecodeTokens, s.Seed, p));
                result.RealModelGenerate = reporter.Task($"InferenceSession.Generate, {name}", 1, _ => Generate(real, s.DecodeTokens, s.Seed));
            }
            catch (CliException e)
            {
                result.Notes.Add($"{s.Model}: {e.Message}");
            }
        }
        else
        {
            result.Notes.Add("No --model given: real-model prefill and decode were not measured.");
        }
        return result;
    }

    public static PrefillResult DensePrefill(LanguageModel model, string name, IReadOnlyList<int> ids, int runs, Action<double> progress)
    {
        using var prefill = new Prefill(model, ids);
        double flops = prefill.Run().DenseFlops;
        var samples = Timing.Interleaved(runs, [() => prefill.Run()], r => progress(r));
        return new PrefillResult(name, ids.Count, flops, Summary.Of(samples[0]));
    }

    /// <summary>Dense prefill and the same projections as bare matmuls, interleaved: the per-round ratio cancels machine drift.</summary>
    public static Summary AchievedOverRaw(LanguageModel model, IReadOnlyList<int> ids, int runs, Action<double> progress)
    {
        using var prefill = new Prefill(model, ids);
        double denseFlops = prefill.Run().DenseFlops;
        var (raw, rawFlops, tensors) = MatmulProbe.ModelEquivalent(model.Config, ids.Count);
        using (tensors)
        {
            var t = Timing.Interleaved(runs, [() => prefill.Run(), raw], r => progress(r));
            return Summary.Of(t[0].Zip(t[1], (dense, matmul) => denseFlops / dense / (rawFlops / matmul)).ToArray());
        }
    }

    /// <summary>Dense and the profile in alternating order; realization per round = (1 − t_qs/t_dense) / FLOPs saved.</summary>
    public static ProfileResult Compare(LanguageModel model, IReadOnlyList<int> ids, Profile profile, int runs, Action<double> progress)
    {
        using var dense = new Prefill(model, ids);
        using var routed = new Prefill(model, ids, new RoutingPlan(profile.Policy, model.Config), profile.Flags);
        var stats = routed.Run();
        var samples = Timing.Interleaved(runs, [() => dense.Run(), () => routed.Run()], r => progress(r));
        var ratios = Timing.Ratios(samples[1], samples[0]);
        double saved = stats.FlopsReduction;
        long tokenLayers = (long)ids.Count * model.Config.NumLayers;
        double removed = (stats.HaltedTokenLayers + stats.FusedTokenLayers) / (double)tokenLayers;
        return new ProfileResult(
            profile.Name, profile.Description, profile.TargetRemovedFraction, removed,
            stats.DenseFlops, stats.ActualFlops, stats.RouterFlops, saved, stats.KvBytes, stats.DenseKvBytes,
            Summary.Of(samples[0]), Summary.Of(samples[1]), Summary.Of(ratios),
            Summary.Of(ratios.Select(r => 1 - r).ToArray()),
            Summary.Of(saved > 1e-9 ? ratios.Select(r => (1 - r) / saved).ToArray() : []));
    }

    /// <summary>
    /// Greedy decode of <paramref name="count"/> tokens after a short prompt through the <see cref="Generator"/> (one step per
    /// token, the host copy of the logits and an argmax), past EOS, so every run decodes exactly <paramref name="count"/> tokens.
    /// Each sample is the time from one emitted token to the next.
    /// </summary>
    public static DecodeResult Decode(LanguageModel model, string name, int count, int seed, Action<double> progress, int promptTokens = 32, IReadOnlyList<int>? promptSource = null)
    {
        using var noGrad = torch.no_grad();
        int prompt = Math.Max(1, Math.Min(promptTokens, model.Config.MaxPositions - count - 1));
        if (prompt + count > model.Config.MaxPositions) throw new CliException($"Decoding {count} tokens does not fit the model's {model.Config.MaxPositions} positions.");
        var ids = promptSource is { Count: > 0 }
            ? Enumerable.Range(0, prompt).Select(i => promptSource[i % promptSource.Count]).ToList()
            : [.. Prefill.RandomTokens(prompt, model.Tokenizer.VocabSize, seed)];
        using var sequence = model.CreateSequence(new SequenceOptions { ContextLength = prompt + count + 1 });
        // One more token than timed: the first comes from the prefill.
        var generator = new Generator(model, sequence, ids, new GenerationRequest { MaxNewTokens = count + 1, Temperature = 0, IgnoreEndOfSequence = true });
        var perToken = new List<double>(count);
        long last = 0;
        foreach (var token in generator.Generate())
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (token.Index > 0)
            {
                perToken.Add(System.Diagnostics.Stopwatch.GetElapsedTime(last, now).TotalSeconds);
                progress(token.Index);
            }
            last = now;
        }
        return new DecodeResult(name, prompt, count, Summary.Of(perToken));
    }

    /// <summary>Greedy generation through InferenceSession.Generate after a 32-token prompt (a warm-up call first).</summary>
    public static GenerateResult Generate(LanguageModel model, int count, int seed)
    {
        int prompt = Math.Max(1, Math.Min(32, model.Config.MaxPositions - count - 1));
        var ids = Prefill.RandomTokens(prompt, model.Tokenizer.VocabSize, seed);
        var request = new QuickSilver.Engine.Generation.GenerationRequest { MaxNewTokens = count, Temperature = 0 };
        using var session = model.CreateSession(Math.Min(model.Config.MaxPositions, prompt + count + 1));
        session.Generate(ids, new QuickSilver.Engine.Generation.GenerationRequest { MaxNewTokens = 4, Temperature = 0 });
        session.Reset();
        var r = session.Generate(ids, request);
        return new GenerateResult(prompt, r.Tokens.Count, r.FinishReason.ToString(), r.TotalSeconds, r.TimeToFirstTokenSeconds);
    }

    public static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
