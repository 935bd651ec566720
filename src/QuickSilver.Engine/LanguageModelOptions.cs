namespace QuickSilver.Engine;

/// <summary>How to load and run a model.</summary>
public sealed class LanguageModelOptions
{
    /// <summary>Torch device string ("cpu", "cuda", "cuda:1").</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>Intra-op threads; 0 keeps TorchSharp's default.</summary>
    public int Threads { get; set; }
    /// <summary>Tokenizer file to use instead of the one found with the model (tok*.bin, tokenizer.model, vocab.json folder).</summary>
    public string? TokenizerPath { get; set; }
    /// <summary>Context length override; null uses the model's.</summary>
    public int? ContextLength { get; set; }

    /// <summary>Creates a copy.</summary>
    public LanguageModelOptions Clone() => (LanguageModelOptions)MemberwiseClone();
}
