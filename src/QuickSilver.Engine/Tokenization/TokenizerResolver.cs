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

    /// <summary>Builds the SentencePiece-BPE tokenizer a llama-family GGUF file embeds.</summary>
    /// <exception cref="TokenizerException">The file has no usable vocabulary.</exception>
    public static ITokenizer FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string model = file.TryGetString("tokenizer.ggml.model", out string? m) ? m : "llama";
        if (model != "llama")
            throw new TokenizerException($"{file.Path}: tokenizer.ggml.model '{model}' is not supported from GGUF (only 'llama'); pass a tokenizer path.");
        return GgufVocabTokenizer.FromMetadata(file.Metadata, file.Path);
    }

    private static bool IsGguf(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.Read(magic) == 4 && magic.SequenceEqual("GGUF"u8);
    }
}
