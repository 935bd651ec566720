using System.Text.Json.Nodes;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>A small SentencePiece-style (Llama 2 / Mistral / Gemma shape) tokenizer.json written to a scratch folder.</summary>
internal sealed class SyntheticTokenizerJson : IDisposable
{
    public const int Unk = 0, Bos = 1, Eos = 2, FirstByte = 3;

    public SyntheticTokenizerJson()
    {
        Folder = Directory.CreateTempSubdirectory("qs-hfjson-").FullName;
        var vocab = new JsonObject { ["<unk>"] = Unk, ["<s>"] = Bos, ["</s>"] = Eos };
        for (int b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = FirstByte + b;
        }
        foreach (string piece in Pieces)
        {
            vocab[piece] = vocab.Count;
        }
        // Both merge spellings are accepted.
        Root = SentencePieceRoot(vocab, new JsonArray("▁ h", "l l", new JsonArray("▁h", "e"), "▁he ll", "▁hell o", "w o", "wo r", "wor l", "worl d", "▁ wor", "▁wor ld"));
    }

    /// <summary>
    /// A tokenizer.json in the shape transformers' LlamaConverter writes for SentencePiece BPE vocabularies (Llama 2, Mistral,
    /// Gemma): &lt;unk&gt;/&lt;s&gt;/&lt;/s&gt; at ids 0–2, Prepend/Replace normalizers, BOS post-processor, byte fallback and the
    /// Replace/ByteFallback/Fuse/Strip decoder.
    /// </summary>
    public static JsonObject SentencePieceRoot(JsonObject vocab, JsonArray merges) => new()
    {
        ["version"] = "1.0",
        ["truncation"] = null,
        ["padding"] = null,
        ["added_tokens"] = new JsonArray(
            Added(Unk, "<unk>", special: true), Added(Bos, "<s>", special: true), Added(Eos, "</s>", special: true)),
        ["normalizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["normalizers"] = new JsonArray(
                new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
        },
        ["pre_tokenizer"] = null,
        ["post_processor"] = new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(
                new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
            ["special_tokens"] = new JsonObject { ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(Bos), ["tokens"] = new JsonArray("<s>") } },
        },
        ["decoder"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["decoders"] = new JsonArray(
                new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                new JsonObject { ["type"] = "ByteFallback" },
                new JsonObject { ["type"] = "Fuse" },
                new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
        },
        ["model"] = new JsonObject
        {
            ["type"] = "BPE",
            ["dropout"] = null,
            ["unk_token"] = "<unk>",
            ["continuing_subword_prefix"] = null,
            ["end_of_word_suffix"] = null,
            ["fuse_unk"] = true,
            ["byte_fallback"] = true,
            ["ignore_merges"] = false,
            ["vocab"] = vocab,
            ["merges"] = merges,
        },
    };

    /// <summary>Model pieces after the byte tokens, in id order.</summary>
    public static readonly string[] Pieces =
        ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "ll", "▁he", "▁hell", "▁hello", "wo", "wor", "worl", "world", "▁wor", "ld", "▁world"];

    public string Folder { get; }

    public JsonObject Root { get; }

    public string TokenizerPath => Path.Combine(Folder, "tokenizer.json");

    public static JsonObject Added(int id, string content, bool special, bool lstrip = false, bool rstrip = false, bool normalized = false, bool singleWord = false) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = singleWord, ["lstrip"] = lstrip, ["rstrip"] = rstrip,
        ["normalized"] = normalized, ["special"] = special,
    };

    public int Id(string piece) => Root["model"]!["vocab"]![piece]!.GetValue<int>();

    /// <summary>Writes tokenizer.json (and optional side files) and returns the file path.</summary>
    public string Write(string? tokenizerConfig = null, string? generationConfig = null)
    {
        File.WriteAllText(TokenizerPath, Root.ToJsonString());
        if (tokenizerConfig is not null) File.WriteAllText(Path.Combine(Folder, "tokenizer_config.json"), tokenizerConfig);
        if (generationConfig is not null) File.WriteAllText(Path.Combine(Folder, "generation_config.json"), generationConfig);
        return TokenizerPath;
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
