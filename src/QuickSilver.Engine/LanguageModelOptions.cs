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

    /// <summary>
    /// Keep a GGUF file's quantized matrices (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K … Q6_K, IQ4_XS) in their blocks and
    /// multiply them with the managed kernels, activations quantized per block to 8 bits as llama.cpp does (default true;
    /// CPU only). False decodes every weight to float32.
    /// </summary>
    public bool KeepQuantized { get; set; } = true;

    /// <summary>
    /// Quantize float matrices (F32/F16/BF16 files, Hugging Face and llama2.c checkpoints) at load: null keeps them float,
    /// <see cref="Loading.GgufTensorType.Q8_0"/> or <see cref="Loading.GgufTensorType.Q4_0"/> quantizes them with the ggml reference quantizers.
    /// </summary>
    public Loading.GgufTensorType? QuantizeWeights { get; set; }

    /// <summary>
    /// Quantized matrices multiply activations quantized per 32-value block to 8 bits (default true, as llama.cpp does).
    /// False multiplies float32 activations against the decoded blocks: logits equal a float model on the decoded weights up to float rounding, at lower speed.
    /// </summary>
    public bool QuantizeActivations { get; set; } = true;

    /// <summary>
    /// Keep a GGUF file's F16/BF16 matrices 16-bit in memory and multiply them with the managed kernels (float32
    /// activations; default true, CPU only, with <see cref="KeepQuantized"/>). False widens them to float32 at load for
    /// libtorch, at twice the memory.
    /// </summary>
    public bool KeepHalfPrecision { get; set; } = true;

    /// <summary>
    /// Hold the blocks' Q8_0 matrices (from the file, or quantized at load with <see cref="QuantizeWeights"/> = Q8_0) as nested
    /// bit planes, so that a policy with <c>Quantization.QuantizeWeights</c> really reads 4 or 2 bits per weight for the tokens
    /// it assigns them (default false; CPU only; needs <see cref="QuantizeActivations"/>). At 8 bits the values are exactly Q8_0's.
    /// </summary>
    public bool BitPlanes { get; set; }

    /// <summary>
    /// How the K/V cache stores keys and values (default <see cref="Engine.KvCacheType.Float32"/>, exact). Float16 or BFloat16
    /// halve the cache's memory (llama.cpp's default is float16) at a small cost in logit accuracy. Packed K/V
    /// (<c>Quantization.QuantizeKv</c> of a policy) needs Float32.
    /// </summary>
    public KvCacheType KvCacheType { get; set; } = KvCacheType.Float32;

    /// <summary>Checks the settings that need no model (the others are checked at load, against the model).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the option.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(KvCacheType))
            throw new ArgumentOutOfRangeException(nameof(KvCacheType), KvCacheType, "LanguageModelOptions.KvCacheType must be Float32, Float16 or BFloat16.");
    }

    /// <summary>Creates a copy.</summary>
    public LanguageModelOptions Clone() => (LanguageModelOptions)MemberwiseClone();
}
