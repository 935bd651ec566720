using QuickSilver.Engine;
using QuickSilver.Engine.Models;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>
/// Resolves the --model argument: a checkpoint path, or one of the built-in random models
/// ("random:gpt2-small", "random:tiny") for measuring shapes we have no checkpoint for.
/// </summary>
internal static class ModelLoader
{
    public const string RandomGpt2Small = "random:gpt2-small";
    public const string RandomTiny = "random:tiny";

    /// <summary>A 4-layer, 64-wide GPT-2-shaped model over the byte tokenizer: fast enough for tests.</summary>
    public static ModelConfig TinyConfig() => new()
    {
        Architecture = "gpt2", VocabSize = 258, HiddenSize = 64, NumLayers = 4, NumHeads = 4, NumKvHeads = 4, HeadDim = 16,
        IntermediateSize = 256, MaxPositions = 512, Norm = NormKind.LayerNorm, Positions = PositionEncodingKind.Learned,
        FeedForward = FeedForwardKind.GeluTanh, AttentionBias = true, MlpBias = true, TiedEmbeddings = true,
        BosTokenId = ByteTokenizer.Bos, EosTokenId = ByteTokenizer.Eos,
    };

    public static bool IsRandom(string spec) => spec.StartsWith("random:", StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks the argument without loading anything (so argument errors come before slow work).</summary>
    public static void Check(string? spec, string option = "--model")
    {
        if (string.IsNullOrWhiteSpace(spec)) throw new CliException($"{option} is required (a checkpoint path, '{RandomGpt2Small}' or '{RandomTiny}').");
        if (IsRandom(spec))
        {
            if (!spec.Equals(RandomGpt2Small, StringComparison.OrdinalIgnoreCase) && !spec.Equals(RandomTiny, StringComparison.OrdinalIgnoreCase))
                throw new CliException($"{option} '{spec}' is not a built-in random model; use '{RandomGpt2Small}' or '{RandomTiny}'.");
            return;
        }
        if (!File.Exists(spec) && !Directory.Exists(spec)) throw new CliException($"Model '{spec}' does not exist ({option}).");
    }

    public static LanguageModel Load(string spec, int threads, int seed = 0)
    {
        Check(spec);
        var options = new LanguageModelOptions { Threads = threads };
        if (spec.Equals(RandomGpt2Small, StringComparison.OrdinalIgnoreCase))
            return new LanguageModel(RandomCheckpoint.Create(RandomCheckpoint.Gpt2SmallConfig(), seed), new ByteTokenizer(), options);
        if (spec.Equals(RandomTiny, StringComparison.OrdinalIgnoreCase))
            return new LanguageModel(RandomCheckpoint.Create(TinyConfig(), seed, std: 0.3f), new ByteTokenizer(), options);
        try
        {
            return EngineLoading.Load(spec, options);
        }
        catch (Exception e) when (e is QuickSilverException or IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
        {
            throw new CliException($"Model '{spec}' could not be loaded: {e.Message}", ExitCodes.Failure, e);
        }
    }
}
