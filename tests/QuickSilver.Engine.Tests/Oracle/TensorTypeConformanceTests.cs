using QuickSilver.Engine.Loading;
using QuickSilver.Testing.Conformance;
using Xunit.Abstractions;

namespace QuickSilver.Engine.Tests.Oracle;

/// <summary>Each architecture's random F32 GGUF and evaluation tokens, written once and shared by every type's test.</summary>
public sealed class ConformanceSourcesFixture : IDisposable
{
    private readonly Dictionary<string, (string Source, ConformanceTokens Tokens)> _sources = [];

    public ConformanceSourcesFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), "qs-conformance-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    /// <summary>The F32 source of <paramref name="architecture"/> and its sequence: BOS + 15 text bytes, then 40 sampled tokens.</summary>
    internal (string Source, ConformanceTokens Tokens) For(IConformanceArchitecture architecture)
    {
        lock (_sources)
        {
            if (!_sources.TryGetValue(architecture.Name, out var entry))
            {
                string source = Path.Combine(Folder, architecture.Name + "-f32-source.gguf");
                architecture.WriteGguf(source);
                entry = (source, ConformanceTokens.Build(source, ConformanceTokens.DefaultText, textTokens: 16, sampledTokens: 40));
                _sources[architecture.Name] = entry;
            }
            return entry;
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// The conformance matrix in CI: every architecture in F32, F16 and llama.cpp's most used quantized files, and every tensor
/// type on Llama, each written by llama-quantize from one random model, against llama.cpp's logits on the same file and
/// against the float64 forward on the same dequantized weights. The CLI's <c>conformance</c> command runs the full matrix.
/// </summary>
/// <remarks>
/// Tolerances: against the float64 forward every type must be within 1e-3 (the engine computes in float32 on exactly
/// the decoded weights). Against llama.cpp the quantized types differ by more, because llama.cpp quantizes activations
/// to 8 bits inside its quantized matmuls (Q8_0 for the 32-blocks, Q8_K for the k-quants); perplexity must still agree
/// within 1% on the sampled (in-distribution) tokens, and F32/F16 within 0.1% with every argmax equal. BF16 counts as
/// quantized here: llama.cpp rounds the activations of BF16 matmuls to bf16.
/// The quantized perplexity goal is checked by the CLI matrix on 224 sampled tokens, not here: on the 40 tokens CI can
/// afford, the per-token log-probability differences between two 8-bit-activation paths (≈ 0.1 nats) leave a sampling
/// error of ≈ 1.5 % on the ratio, so a 1 % bound would test the dice. What CI asserts for them is exact: the file loads,
/// llama-quantize wrote the type asked for, and our logits are within 1e-3 of the float64 forward on its weights.
/// </remarks>
public sealed class TensorTypeConformanceTests(ConformanceSourcesFixture fixture, ITestOutputHelper output) : IClassFixture<ConformanceSourcesFixture>
{
    /// <summary>Columns every architecture runs in CI: the float types and the file most downloaded.</summary>
    private static readonly string[] EveryArchitecture = ["F32", "F16", "Q4_K_M mix"];

    public static TheoryData<string, string> Cells()
    {
        var data = new TheoryData<string, string>();
        foreach (IConformanceArchitecture a in ConformanceArchitectures.All)
            foreach (string v in EveryArchitecture) data.Add(a.Name, v);
        foreach (ConformanceVariant v in ConformanceVariant.All.Where(v => !EveryArchitecture.Contains(v.Name))) data.Add("llama2", v.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Logits_agree_with_llama_cpp_and_with_the_float64_forward(string architectureName, string name)
    {
        IConformanceArchitecture architecture = ConformanceArchitectures.Get(architectureName);
        ConformanceVariant variant = ConformanceVariant.Get(name);
        (string source, ConformanceTokens tokens) = fixture.For(architecture);
        ConformanceResult r = ConformanceRunner.Run(architecture, variant, source, fixture.Folder, tokens, withRoundedReference: false);
        output.WriteLine($"{r.Architecture} {r.Variant} [{r.TensorTypes}]: max|Δ| vs llama.cpp {r.MaxDeltaVsLlamaCpp:G3}, argmax {r.ArgmaxAgreement:P1}, " +
            $"ppl (sampled) ours {r.PerplexityOurs:F4} / llama.cpp {r.PerplexityLlamaCpp:F4} = {r.PerplexityRatio:F5}, ppl (text) ratio {r.TextPerplexityRatio:F5}, " +
            $"max|Δ| vs float64 {r.MaxDeltaVsFloat64:G3} (default options {r.DefaultMaxDeltaVsFloat64:G3}; llama.cpp vs float64 {r.LlamaCppMaxDeltaVsFloat64:G3}, vs float64 rounded like llama.cpp {r.LlamaCppMaxDeltaVsRounded:G3})");

        Assert.True(r.Loads, r.Error);
        if (variant.PureType is { } type)
        {
            foreach ((string tensor, GgufTensorType written) in QuickSilver.Testing.LlamaCpp.LlamaCppQuantizer.TensorTypes(Path.Combine(fixture.Folder, $"{architectureName}-{name}.gguf")))
                Assert.True(written == (IsKeptF32(tensor) ? GgufTensorType.F32 : type), $"{tensor}: {written}, expected {type}");
        }
        Assert.True(r.MaxDeltaVsFloat64 <= 1e-3, $"max |Δ| vs float64 forward {r.MaxDeltaVsFloat64}");
        if (variant.IsFloat)
        {
            // llama.cpp rounds F16 matmul inputs to fp16 (how depends on its batch shape), which moves its logits by up to
            // ~0.01 here: a near-tie it swaps is its rounding's doing when ours is the exact argmax and the exact logits of
            // the two tokens are closer than twice its distance from them. Any other flip fails.
            Assert.True(r.UnexplainedArgmaxFlips == 0, $"{r.ArgmaxFlips} argmax flips, {r.UnexplainedArgmaxFlips} not explained by llama.cpp's rounding");
            Assert.True(r.MaxDeltaVsLlamaCpp <= 0.02, $"max |Δ| vs llama.cpp {r.MaxDeltaVsLlamaCpp}");
            Assert.True(Math.Abs(r.PerplexityRatio - 1) <= 1e-3, $"perplexity ratio {r.PerplexityRatio}");
        }
    }

    /// <summary>1-D tensors (norms, biases, RoPE factors) and GPT-2's position table stay F32 in every file llama-quantize writes.</summary>
    private static bool IsKeptF32(string tensor) =>
        tensor.EndsWith("norm.weight", StringComparison.Ordinal) || tensor.EndsWith(".bias", StringComparison.Ordinal) ||
        tensor.StartsWith("rope_", StringComparison.Ordinal) || tensor == "position_embd.weight";

    [Fact]
    public void The_default_Q4_0_mix_keeps_output_weight_in_Q6_K_and_loads()
    {
        IConformanceArchitecture llama = ConformanceArchitectures.Get("llama2");
        (string source, ConformanceTokens tokens) = fixture.For(llama);
        string path = Path.Combine(fixture.Folder, "q4_0-default.gguf");
        ConformanceVariant.Get("Q4_0 mix").Quantize(source, path);
        IReadOnlyDictionary<string, GgufTensorType> types = QuickSilver.Testing.LlamaCpp.LlamaCppQuantizer.TensorTypes(path);
        Assert.Equal(GgufTensorType.Q6_K, types["output.weight"]);
        Assert.Equal(GgufTensorType.Q4_0, types["blk.0.attn_q.weight"]);
        double[][] ours = ConformanceRunner.OurLogits(path, tokens.Ids);
        Assert.Equal(tokens.Ids.Length, ours.Length);
    }
}
