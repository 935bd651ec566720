using System.Text.Json;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization.Gguf;

/// <summary>
/// Writes tokenizer-only GGUF files (as llama.cpp's convert_hf_to_gguf.py would: tokens by id, token types, merges as
/// "a b" strings, the special ids) from a real tokenizer.json, with a chosen <c>tokenizer.ggml.pre</c>. The minimal
/// llama hyper-parameters are included so that llama.cpp can open the file with <c>vocab_only</c>.
/// </summary>
internal static class TokenizerOnlyGguf
{
    private static readonly Dictionary<string, (string[] Tokens, int[] Types, string[] Merges)> Cache = [];

    /// <summary>The vocabulary of a fixture tokenizer.json: special added tokens are control, other added tokens user-defined.</summary>
    public static (string[] Tokens, int[] Types, string[] Merges) Vocabulary(string tokenizerJson)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(tokenizerJson, out var cached)) return cached;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
            var model = doc.RootElement.GetProperty("model");
            var pieces = new SortedDictionary<int, (string, int)>();
            foreach (var entry in model.GetProperty("vocab").EnumerateObject()) pieces[entry.Value.GetInt32()] = (entry.Name, (int)GgufTokenType.Normal);
            foreach (var added in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
            {
                var type = added.GetProperty("special").GetBoolean() ? GgufTokenType.Control : GgufTokenType.UserDefined;
                pieces[added.GetProperty("id").GetInt32()] = (added.GetProperty("content").GetString()!, (int)type);
            }
            int count = pieces.Keys.Max() + 1;
            var tokens = new string[count];
            var types = new int[count];
            for (int id = 0; id < count; id++)
            {
                (tokens[id], types[id]) = pieces.TryGetValue(id, out var p) ? p : ($"[PAD{id}]", (int)GgufTokenType.Unused);
            }
            string[] merges = [.. model.GetProperty("merges").EnumerateArray().Select(m =>
                m.ValueKind == JsonValueKind.String ? m.GetString()! : $"{m[0].GetString()} {m[1].GetString()}")];
            return Cache[tokenizerJson] = (tokens, types, merges);
        }
    }

    /// <summary>GPT-2's vocabulary (vocab.json + merges.txt of ../shared/models/tokenizers/gpt2): 50,257 tokens, a third of Qwen3's.</summary>
    public static (string[] Tokens, int[] Types, string[] Merges) Gpt2Vocabulary()
    {
        lock (Cache)
        {
            string folder = QuickSilver.Testing.SharedAssets.Gpt2TokenizerDir;
            if (Cache.TryGetValue(folder, out var cached)) return cached;
            var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(folder, "vocab.json")))!;
            var tokens = new string[vocab.Count];
            foreach (var (piece, id) in vocab) tokens[id] = piece;
            int[] types = [.. tokens.Select(t => t == "<|endoftext|>" ? (int)GgufTokenType.Control : (int)GgufTokenType.Normal)];
            string[] merges = [.. File.ReadLines(Path.Combine(folder, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))];
            return Cache[folder] = (tokens, types, merges);
        }
    }

    /// <summary>Writes the file from a fixture tokenizer.json into <paramref name="folder"/> and returns its path.</summary>
    public static string Write(ScratchFolder folder, string tokenizerJson, string pre, int bos, int eos, Action<GgufWriter>? extra = null, string model = "gpt2") =>
        Write(folder, Vocabulary(tokenizerJson), pre, bos, eos, extra, model);

    /// <summary>Writes a tokenizer-only file from a vocabulary into <paramref name="folder"/> and returns its path.</summary>
    public static string Write(ScratchFolder folder, (string[] Tokens, int[] Types, string[] Merges) vocabulary, string pre, int bos, int eos, Action<GgufWriter>? extra = null, string model = "gpt2")
    {
        var (tokens, types, merges) = vocabulary;
        var writer = new GgufWriter()
            .AddMetadata("general.architecture", "llama")
            .AddMetadata("llama.context_length", 2048u)
            .AddMetadata("llama.embedding_length", 64u)
            .AddMetadata("llama.block_count", 1u)
            .AddMetadata("llama.feed_forward_length", 128u)
            .AddMetadata("llama.attention.head_count", 2u)
            .AddMetadata("llama.attention.head_count_kv", 2u)
            .AddMetadata("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .AddMetadata("llama.rope.dimension_count", 32u)
            .AddMetadata("tokenizer.ggml.model", model)
            .AddMetadata("tokenizer.ggml.pre", pre)
            .AddMetadata("tokenizer.ggml.tokens", tokens)
            .AddMetadata("tokenizer.ggml.token_type", types)
            .AddMetadata("tokenizer.ggml.merges", merges)
            .AddMetadata("tokenizer.ggml.bos_token_id", (uint)bos)
            .AddMetadata("tokenizer.ggml.eos_token_id", (uint)eos);
        extra?.Invoke(writer);
        string path = folder.File($"{pre}-{model}.gguf");
        writer.Write(path);
        return path;
    }

    /// <summary>A three-token byte-level vocabulary ("a", "b", "ab"): enough for errors that do not depend on the vocabulary.</summary>
    public static (string[] Tokens, int[] Types, string[] Merges) Tiny { get; } = (["a", "b", "ab"], [1, 1, 1], ["a b"]);
}
