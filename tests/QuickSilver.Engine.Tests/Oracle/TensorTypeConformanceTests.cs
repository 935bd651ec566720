using QuickSilver.Engine.Loading;
using QuickSilver.Testing.Conformance;
using Xunit.Abstractions;

namespace QuickSilver.Engine.Tests.Oracle;

/// <summary>The random Llama written once as F32, shared by every type's conformance test.</summary>
public sealed class ConformanceLlamaFixture : IDisposable
{
    public ConformanceLlamaFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), "qs-conformance-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Source = Path.Combine(Folder, "llama-f32-source.gguf");
        Architecture.WriteGguf(Source);
        Tokens = ConformanceTokens.Build(Source, ConformanceTokens.DefaultText, textTokens: 16, sampledTokens: 32);
    }

    internal LlamaConformanceModel Architecture { get; } = new();
    public string Folder { get; }
    public string Source { get; }
    internal ConformanceTokens Tokens { get; }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// Every tensor type and llama.cpp's default mixes, written by llama-quantize from one random Llama, against llama.cpp's
/// logits on the same file and against a float64 forward on the same dequantized weights.
/// </summary>
/// <remarks>
/// Tolerances: against the float64 forward every type must be within 1e-3 (the engine computes in float32 on exactly
/// the decoded weights). Against llama.cpp the quantized types differ by more, because llama.cpp quantizes activations
/// to 8 bits inside its quantized matmuls (Q8_0 for the 32-blocks, Q8_K for the k-quants); perplexity must still agree
/// within 1% on the sampled (in-distribution) tokens, and F32/F16 within 0.1% with every argmax equal. BF16 counts as
/// quantized here: llama.cpp rounds the activations of BF16 matmuls to bf16.
/// </remarks>
public sealed class TensorTypeConformanceTests(ConformanceLlamaFixture fixture, ITestOutputHelper output) : IClassFixture<ConformanceLlamaFixture>
{
    public static TheoryData<string> Variants() => [.. ConformanceVariant.All.Select(v => v.Name)];

    [Theory]
    [MemberData(nameof(Variants))]
    public void Logits_agree_with_llama_cpp_and_with_the_float64_forward(string name)
    {
        ConformanceVariant variant = ConformanceVariant.Get(name);
        ConformanceResult r = ConformanceRunner.Run(fixture.Architecture, variant, fixture.Source, fixture.Folder, fixture.Tokens);
        output.WriteLine($"{r.Variant} [{r.TensorTypes}]: max|Δ| vs llama.cpp {r.MaxDeltaVsLlamaCpp:G3}, argmax {r.ArgmaxAgreement:P1}, " +
            $"ppl (sampled) ours {r.PerplexityOurs:F4} / llama.cpp {r.PerplexityLlamaCpp:F4} = {r.PerplexityRatio:F5}, ppl (text) ratio {r.TextPerplexityRatio:F5}, " +
            $"max|Δ| vs float64 {r.MaxDeltaVsFloat64:G3} (default options {r.DefaultMaxDeltaVsFloat64:G3}; llama.cpp vs float64 {r.LlamaCppMaxDeltaVsFloat64:G3}, vs float64 rounded like llama.cpp {r.LlamaCppMaxDeltaVsRounded:G3})");

        Assert.True(r.Loads, r.Error);
        if (variant.PureType is { } type)
        {
            foreach ((string tensor, GgufTensorType written) in QuickSilver.Testing.LlamaCpp.LlamaCppQuantizer.TensorTypes(Path.Combine(fixture.Folder, $"llama-{name}.gguf")))
                Assert.True(written == (tensor.EndsWith("norm.weight", StringComparison.Ordinal) ? GgufTensorType.F32 : type), $"{tensor}: {written}, expected {type}");
        }
        Assert.True(r.MaxDeltaVsFloat64 <= 1e-3, $"max |Δ| vs float64 forward {r.MaxDeltaVsFloat64}");
        Assert.True(r.MeetsGoals(variant.IsFloat), "goals missed");
        if (variant.IsFloat)
        {
            Assert.Equal(1.0, r.ArgmaxAgreement);
            Assert.True(r.MaxDeltaVsLlamaCpp <= 0.02, $"max |Δ| vs llama.cpp {r.MaxDeltaVsLlamaCpp}");
            Assert.True(Math.Abs(r.PerplexityRatio - 1) <= 1e-3, $"perplexity ratio {r.PerplexityRatio}");
        }
        else
        {
            Assert.True(Math.Abs(r.PerplexityRatio - 1) <= 0.01, $"perplexity ratio {r.PerplexityRatio}");
        }
    }

    [Fact]
    public void The_default_Q4_0_mix_keeps_output_weight_in_Q6_K_and_loads()
    {
        string path = Path.Combine(fixture.Folder, "q4_0-default.gguf");
        ConformanceVariant.Get("Q4_0 mix").Quantize(fixture.Source, path);
        IReadOnlyDictionary<string, GgufTensorType> types = QuickSilver.Testing.LlamaCpp.LlamaCppQuantizer.TensorTypes(path);
        Assert.Equal(GgufTensorType.Q6_K, types["output.weight"]);
        Assert.Equal(GgufTensorType.Q4_0, types["blk.0.attn_q.weight"]);
        double[][] ours = ConformanceRunner.OurLogits(path, fixture.Tokens.Ids);
        Assert.Equal(fixture.Tokens.Ids.Length, ours.Length);
    }
}
