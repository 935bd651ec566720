using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// One architecture variant under test: the canonical config both loaders must produce, and what the GGUF (as llama.cpp's
/// converter writes it) and the HF folder (as transformers writes it) carry beyond the common fields.
/// </summary>
internal sealed class ArchitectureCase
{
    /// <summary>Name in test output ("llama3.1", "qwen3", …).</summary>
    public required string Name { get; init; }
    /// <summary>general.architecture of the GGUF.</summary>
    public required string GgufArchitecture { get; init; }
    /// <summary>model_type of the HF config.</summary>
    public required string HfModelType { get; init; }
    /// <summary>The canonical config; Architecture is ignored when comparing.</summary>
    public required ModelConfig Config { get; init; }
    /// <summary>Extra GGUF metadata (rope scaling keys, soft-caps …), keys without the "{arch}." prefix.</summary>
    public IReadOnlyDictionary<string, object> GgufMetadata { get; init; } = new Dictionary<string, object>();
    /// <summary>Extra config.json fields.</summary>
    public IReadOnlyDictionary<string, object?> HfConfig { get; init; } = new Dictionary<string, object?>();
    /// <summary>transformers stores norm weights as w − 1 and computes x̂·(1 + w) (Gemma).</summary>
    public float HfNormOffset { get; init; }
    /// <summary>Phi-3's fused qkv_proj / gate_up_proj (GGUF: attn_qkv, ffn_up holding gate | up).</summary>
    public bool Fused { get; init; }
    /// <summary>llama.cpp applies the sliding window for this GGUF architecture (it does for gemma2/3, not for llama or phi3).</summary>
    public bool LlamaCppAppliesWindow { get; init; } = true;

    /// <summary>A copy with other GGUF metadata (for rejection tests).</summary>
    public ArchitectureCase WithGgufMetadata(IReadOnlyDictionary<string, object> metadata) => new()
    {
        Name = Name, GgufArchitecture = GgufArchitecture, HfModelType = HfModelType, Config = Config, GgufMetadata = metadata,
        HfConfig = HfConfig, HfNormOffset = HfNormOffset, Fused = Fused, LlamaCppAppliesWindow = LlamaCppAppliesWindow,
    };

    /// <summary>Random weights in the canonical layout (o_proj biases zero where the family stores none).</summary>
    public CheckpointData Weights(int seed = 5)
    {
        CheckpointData random = RandomCheckpoint.Create(Config, seed, std: 0.25f);
        return Config.Norm == NormKind.LayerNorm ? random : new CheckpointData(Config, WithoutOutputBias(random.Tensors), null, "random");
    }

    /// <summary>No family here but GPT-2 stores an o_proj bias: those are zeroed.</summary>
    internal Dictionary<string, HostTensor> WithoutOutputBias(IReadOnlyDictionary<string, HostTensor> weights)
    {
        var tensors = weights.ToDictionary(p => p.Key, p => p.Value);
        for (int l = 0; l < Config.NumLayers; l++)
        {
            string bias = WeightNames.BiasOf(WeightNames.Output(l));
            if (tensors.TryGetValue(bias, out HostTensor? b)) tensors[bias] = b with { Data = new float[b.Data.Length] };
        }
        return tensors;
    }

    public override string ToString() => Name;
}
