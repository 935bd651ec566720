using LLama;
using LLama.Common;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Engine.Tests.Tokenization.Gguf;

/// <summary>
/// SentencePiece (<c>tokenizer.ggml.model = llama</c>) vocabularies: add_space_prefix, control and user-defined tokens,
/// BOS/EOS flags and stop ids, checked against llama.cpp (LLamaSharp, vocab_only) on stories260K's vocabulary.
/// </summary>
public sealed class GgufSpmVocabularyTests
{
    private static readonly string[] Texts =
    [
        "Once upon a time", "a</s>b", "</s>Lily <s> went", " two  spaces", "<unk>x", "", "tom</s></s>", "Hello world\n\nBye",
    ];

    /// <summary>stories260K.gguf's metadata without tensors, with <paramref name="change"/> applied.</summary>
    private static string Variant(ScratchFolder scratch, string name, Action<Dictionary<string, object>> change)
    {
        var gguf = GgufFile.Read(SharedAssets.Stories260KGguf);
        var metadata = gguf.Metadata.Where(kv => kv.Key != "general.alignment").ToDictionary(kv => kv.Key, kv => kv.Value);
        change(metadata);
        var writer = new GgufWriter();
        foreach (var (key, value) in metadata) writer.AddMetadata(key, value);
        string path = scratch.File(name + ".gguf");
        writer.Write(path);
        return path;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Encoding_with_and_without_special_parsing_equals_llama_cpp(bool addSpacePrefix)
    {
        // Token 300 becomes user-defined: llama.cpp then cuts its text out of all input, special parsing or not.
        using var scratch = new ScratchFolder();
        string path = Variant(scratch, $"spm-{addSpacePrefix}", m =>
        {
            m["tokenizer.ggml.add_space_prefix"] = addSpacePrefix;
            int[] types = [.. (int[])m["tokenizer.ggml.token_type"]];
            types[300] = (int)GgufTokenType.UserDefined;
            m["tokenizer.ggml.token_type"] = types;
        });
        var ours = TokenizerFactory.Load(path);
        string userDefined = ours.TokenPiece(300);
        string[] texts = [.. Texts, $"x{userDefined}y", $"{userDefined}</s>{userDefined}"];
        foreach (bool special in new[] { false, true })
        {
            int[][] reference = LlamaCpp(path, texts, special);
            for (int i = 0; i < texts.Length; i++)
            {
                var ids = special ? ours.EncodeWithSpecialTokens(texts[i], addBos: false) : ours.Encode(texts[i], addBos: false);
                Assert.True(reference[i].SequenceEqual(ids),
                    $"'{texts[i]}' special={special} prefix={addSpacePrefix}: ours [{string.Join(",", ids)}] llama.cpp [{string.Join(",", reference[i])}]");
            }
        }
        Assert.Contains(300, ours.Encode($"x{userDefined}y", addBos: false));
        Assert.DoesNotContain(2, ours.Encode("a</s>b", addBos: false));
        Assert.Contains(2, ours.EncodeWithSpecialTokens("a</s>b", addBos: false));
    }

    [Fact]
    public void Flags_stop_ids_and_templates_come_from_the_metadata()
    {
        var plain = TokenizerFactory.Load(SharedAssets.Stories260KGguf);
        Assert.True(plain.AddBosToken);
        Assert.False(plain.AddEosToken);
        Assert.Equal([2], plain.EndOfTurnTokenIds);

        using var scratch = new ScratchFolder();
        string path = Variant(scratch, "flags", m =>
        {
            m["tokenizer.ggml.add_bos_token"] = false;
            m["tokenizer.ggml.add_eos_token"] = true;
            m["tokenizer.ggml.eot_token_id"] = 5u;
            m["tokenizer.chat_template"] = "{{ messages }}";
            m["tokenizer.chat_template.tool_use"] = "{{ tools }}";
        });
        var tok = TokenizerFactory.Load(path);
        Assert.False(tok.AddBosToken);
        Assert.True(tok.AddEosToken);
        Assert.Equal([2, 5], tok.EndOfTurnTokenIds);
        Assert.Equal("{{ messages }}", tok.ChatTemplate);
        Assert.Equal("{{ tools }}", tok.NamedChatTemplates["tool_use"]);
    }

    [Fact]
    public void Add_bos_without_a_bos_id_is_an_error_naming_the_keys()
    {
        using var scratch = new ScratchFolder();
        string spm = Variant(scratch, "nobos", m =>
        {
            m["tokenizer.ggml.bos_token_id"] = 0xFFFFFFFFu;
            m["tokenizer.ggml.add_bos_token"] = true;
        });
        var ex = Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(spm));
        Assert.Contains("tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set", ex.Message);

        var writer = new GgufWriter().AddMetadata("general.architecture", "llama").AddMetadata("tokenizer.ggml.model", "gpt2")
            .AddMetadata("tokenizer.ggml.pre", "gpt-2").AddMetadata("tokenizer.ggml.tokens", new[] { "a", "b", "ab" })
            .AddMetadata("tokenizer.ggml.merges", new[] { "a b" }).AddMetadata("tokenizer.ggml.bos_token_id", 99u)
            .AddMetadata("tokenizer.ggml.add_bos_token", true);
        string bpe = scratch.File("nobos-bpe.gguf");
        writer.Write(bpe);
        Assert.Contains("bos_token_id is not set", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(bpe)).Message);
    }

    private static int[][] LlamaCpp(string gguf, string[] texts, bool special)
    {
        LlamaCppRuntime.EnsureLoaded();
        lock (LlamaCppRuntime.Gate)
        {
            using var weights = LLamaWeights.LoadFromFile(new ModelParams(gguf) { VocabOnly = true, GpuLayerCount = 0 });
            return [.. texts.Select(t => weights.Tokenize(t, add_bos: false, special, System.Text.Encoding.UTF8).Select(x => (int)x).ToArray())];
        }
    }
}
