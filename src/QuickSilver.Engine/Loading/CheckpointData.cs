using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Loading;

/// <summary>What a loader returns: a validated config, host tensors under canonical names, and a tokenizer if the file carries one.</summary>
public sealed class CheckpointData
{
    /// <summary>Creates checkpoint data.</summary>
    public CheckpointData(ModelConfig config, IReadOnlyDictionary<string, HostTensor> tensors, ITokenizer? tokenizer, string source, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        Config = config;
        Tensors = tensors;
        Tokenizer = tokenizer;
        Source = source;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>The model configuration.</summary>
    public ModelConfig Config { get; }
    /// <summary>Weights under <see cref="WeightNames"/>.</summary>
    public IReadOnlyDictionary<string, HostTensor> Tensors { get; }
    /// <summary>The tokenizer found with the checkpoint (GGUF vocabulary, tokenizer files in an HF folder, tok*.bin beside a .bin), or null.</summary>
    public ITokenizer? Tokenizer { get; }
    /// <summary>Where it was loaded from.</summary>
    public string Source { get; }
    /// <summary>String metadata worth keeping (e.g. "tokenizer.chat_template").</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}
