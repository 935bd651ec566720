using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Tokenization;

/// <summary>Finds the tokenizer that belongs to a checkpoint: embedded (GGUF), named in its metadata, or beside it.</summary>
public static class TokenizerResolver
{
    /// <summary>
    /// Resolves the tokenizer for <paramref name="checkpoint"/> loaded from <paramref name="modelPath"/>: an explicit
    /// <paramref name="tokenizerPath"/> wins; then one the loader attached; a GGUF file's own vocabulary; files the
    /// loader found (tokenizer.model, vocab.json + merges.txt, tok*.bin); finally <c>tok{V}.bin</c> or <c>tokenizer.bin</c>
    /// in the model's folder or its parent.
    /// </summary>
    /// <exception cref="TokenizerException">No tokenizer could be found.</exception>
    public static ITokenizer Resolve(CheckpointData checkpoint, string modelPath, string? tokenizerPath = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!string.IsNullOrEmpty(tokenizerPath)) return TokenizerFactory.Load(tokenizerPath);
        if (checkpoint.Tokenizer is not null) return checkpoint.Tokenizer;
        if (File.Exists(modelPath) && IsGguf(modelPath)) return FromGguf(GgufFile.Read(modelPath));

        var meta = checkpoint.Metadata;
        foreach (string key in new[] { HuggingFaceLoader.TokenizerJsonPathKey, HuggingFaceLoader.TokenizerModelPathKey, Llama2cLoader.TokenizerPathKey })
            if (meta.TryGetValue(key, out string? file) && File.Exists(file)) return TokenizerFactory.Load(file);
        if (meta.TryGetValue(HuggingFaceLoader.VocabJsonPathKey, out string? vocab) && File.Exists(vocab)) return TokenizerFactory.Load(Path.GetDirectoryName(vocab)!);

        string folder = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        foreach (string dir in new[] { folder, Path.GetDirectoryName(folder) }.OfType<string>())
            foreach (string name in new[] { "tokenizer.json", $"tok{checkpoint.Config.VocabSize}.bin", "tokenizer.bin", "tokenizer.model" })
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return TokenizerFactory.Load(candidate);
            }
        throw new TokenizerException($"No tokenizer found for '{modelPath}': pass a tokenizer path (tokenizer.json, tok*.bin, tokenizer.model, or a folder with vocab.json and merges.txt).");
    }

    /// <summary>
    /// Builds the tokenizer a GGUF file embeds: <c>tokenizer.ggml.model = llama</c> → SentencePiece-BPE
    /// (<see cref="GgufVocabTokenizer"/>); <c>gpt2</c> → byte-level BPE with the pre-tokenizer <c>tokenizer.ggml.pre</c>
    /// names, as llama.cpp maps it (<see cref="Gguf.LlamaCppPreTokenizers"/>).
    /// </summary>
    /// <exception cref="TokenizerException">Another model type, an unknown <c>pre</c>, or no usable vocabulary; the message names the file and key.</exception>
    public static ITokenizer FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string model = file.TryGetString("tokenizer.ggml.model", out string? m) ? m : "llama";
        return model switch
        {
            "llama" => GgufVocabTokenizer.FromGguf(file),
            "gpt2" => Gguf.GgufBpeVocabulary.Build(file),
            _ => throw new TokenizerException(
                $"{file.Path}: tokenizer.ggml.model '{model}' is not supported (supported: 'llama' = SentencePiece-BPE, 'gpt2' = byte-level BPE); pass a tokenizer path."),
        };
    }

    private static bool IsGguf(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.Read(magic) == 4 && magic.SequenceEqual("GGUF"u8);
    }
}
