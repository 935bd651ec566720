using LLama;
using LLama.Common;
using QuickSilver.Engine.Tests.Tokenization.HuggingFace;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Engine.Tests.Tokenization.Gguf;

/// <summary>
/// llama.cpp itself (through LLamaSharp, vocabulary only) as the oracle for <c>tokenizer.ggml.pre</c>: GPT-2's vocabulary (the
/// smallest real byte-level one here; the split rules do not depend on it) is written with each pre-tokenizer name, and both
/// tokenize the 202 hard strings. (With Qwen3's vocabulary, all 16 names
/// tried during development matched on every string — also deepseek-llm, deepseek-coder, gpt-2, falcon, starcoder, chatglm-bpe, bloom, seed-coder,
/// bailingmoe; the suite keeps a representative set because each case loads a 151k-token vocabulary twice.)
/// </summary>
public sealed class LlamaCppPreTokenizerOracleTests
{
    [Theory]
    [InlineData("default")]
    [InlineData("llama-bpe")]
    [InlineData("qwen2")]
    [InlineData("smollm")]
    [InlineData("gpt-4o")]
    [InlineData("tekken")]
    public void Ids_equal_llama_cpp_on_every_string(string pre)
    {
        using var scratch = new ScratchFolder();
        string gguf = TokenizerOnlyGguf.Write(scratch, TokenizerOnlyGguf.Gpt2Vocabulary(), pre, bos: 50256, eos: 50256);
        var ours = TokenizerFactory.Load(gguf);
        string[] corpus = RealTokenizerFixtures.Corpus;
        int[][]? reference = LlamaCppTokenize(gguf, corpus);
        if (reference is null)
        {
            Assert.Fail($"the llama.cpp bundled with LLamaSharp does not know pre '{pre}'");
            return;
        }
        var failures = new List<string>();
        for (int i = 0; i < corpus.Length; i++)
        {
            int[] ids = [.. ours.Encode(corpus[i], addBos: false)];
            if (!ids.SequenceEqual(reference[i]))
            {
                failures.Add($"#{i} {System.Text.Json.JsonSerializer.Serialize(corpus[i])}: ours [{string.Join(",", ids)}] llama.cpp [{string.Join(",", reference[i])}]");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count}/{corpus.Length} differ for '{pre}':\n{string.Join("\n", failures.Take(8))}");
    }

    /// <summary>llama.cpp's ids without BOS and with special-token text as plain text; null when it refuses the pre name.</summary>
    private static int[][]? LlamaCppTokenize(string gguf, string[] texts)
    {
        LlamaCppRuntime.EnsureLoaded();
        lock (LlamaCppRuntime.Gate)
        {
            LlamaCppRuntime.ClearLog();
            var parameters = new ModelParams(gguf) { VocabOnly = true, GpuLayerCount = 0 };
            LLamaWeights weights;
            try
            {
                weights = LLamaWeights.LoadFromFile(parameters);
            }
            catch (Exception) when (LlamaCppRuntime.RecentLog.Contains("unknown pre-tokenizer type", StringComparison.Ordinal))
            {
                return null;
            }
            using (weights)
            {
                return [.. texts.Select(t => weights.Tokenize(t, add_bos: false, special: false, System.Text.Encoding.UTF8).Select(x => (int)x).ToArray())];
            }
        }
    }
}
