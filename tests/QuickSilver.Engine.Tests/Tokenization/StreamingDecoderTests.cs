using CsCheck;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization;

public sealed class StreamingDecoderTests
{
    private static string Stream(ITokenizer tokenizer, IEnumerable<int> ids, List<string>? chunks = null)
    {
        var decoder = new StreamingDecoder(tokenizer);
        var text = new System.Text.StringBuilder();
        foreach (int id in ids)
        {
            string chunk = decoder.Append(id);
            chunks?.Add(chunk);
            text.Append(chunk);
        }
        string tail = decoder.Flush();
        chunks?.Add(tail);
        return text.Append(tail).ToString();
    }

    [Fact]
    public void Streaming_the_golden_greedy_ids_gives_the_golden_text()
    {
        Assert.Equal(LlamaGolden.GreedyText, Stream(Stories260K.Tokenizer, LlamaGolden.GreedyIds));
        Assert.Equal(LlamaGolden.GreedyText, Stream(Stories260K.Tokenizer, [1, .. LlamaGolden.GreedyIds]));
    }

    [Fact]
    public void Byte_fallback_characters_are_held_back_until_complete()
    {
        var chunks = new List<string>();
        // "Zoë 😀!" after BOS: 410 469 414 | 198 174 (ë) | 410 | 243 162 155 131 (😀) | 443
        string text = Stream(Stories260K.Tokenizer, [1, 410, 469, 414, 198, 174, 410, 243, 162, 155, 131, 443], chunks);
        Assert.Equal("Zoë 😀!", text);
        Assert.Equal(["", "", "Z", "o", "", "ë", " ", "", "", "", "😀", "!", ""], chunks);
    }

    [Fact]
    public void Flush_turns_an_unfinished_character_into_a_replacement_and_restarts_the_text()
    {
        var decoder = new StreamingDecoder(Stories260K.Tokenizer);
        Assert.Equal("", decoder.Append(243)); // F0: first of four bytes
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("a", decoder.Append(261)); // " a" at the start of a new text loses its space
        Assert.Equal(" a", decoder.Append(261));
    }

    [Fact]
    public void A_continuation_after_a_prompt_keeps_its_leading_space()
    {
        var tok = Stories260K.Tokenizer;
        var prompt = tok.Encode("Once upon", addBos: true);
        var whole = tok.Encode("Once upon a time", addBos: true);
        Assert.Equal(prompt, whole.Take(prompt.Count)); // the continuation starts on a token boundary
        var continuation = whole.Skip(prompt.Count).ToArray();
        var decoder = new StreamingDecoder(tok, precedingId: prompt[^1]);
        string text = string.Concat(continuation.Select(decoder.Append)) + decoder.Flush();
        Assert.Equal(" a time", text);
        Assert.Equal(tok.Decode(whole), tok.Decode(prompt) + text);

        var afterBos = new StreamingDecoder(tok, precedingId: 1);
        Assert.Equal("a", afterBos.Append(261));
        Assert.Throws<TokenizerException>(() => new StreamingDecoder(tok, precedingId: 9999));
    }

    [Fact]
    public void Out_of_range_id_throws_tokenizer_exception()
    {
        var decoder = new StreamingDecoder(Stories260K.Tokenizer);
        Assert.Throws<TokenizerException>(() => decoder.Append(512));
        Assert.Throws<ArgumentNullException>(() => new StreamingDecoder(null!));
    }

    /// <summary>Property: for any id sequence, the concatenated chunks equal Decode of all the ids.</summary>
    [Fact]
    public void Concatenated_chunks_equal_decode_for_random_stories260K_ids()
    {
        var tok = Stories260K.Tokenizer;
        // Bias towards byte tokens (3..258) and BOS so that split characters and leading-space rules are exercised.
        var id = Gen.Frequency((3, Gen.Int[3, 258]), (3, Gen.Int[0, 511]), (1, Gen.Const(1)), (1, Gen.Int[0xC0 + 3, 0xF4 + 3]));
        id.Array[0, 40].Sample(ids => Assert.Equal(tok.Decode(ids), Stream(tok, ids)), iter: 3000);
    }

    [Fact]
    public void Concatenated_chunks_equal_decode_for_random_gguf_ids()
    {
        var tok = Stories260K.GgufTokenizer;
        Gen.Int[0, 511].Array[0, 40].Sample(ids => Assert.Equal(tok.Decode(ids), Stream(tok, ids)), iter: 1000);
    }

    [Fact]
    public void Concatenated_chunks_equal_decode_for_random_gpt2_ids()
    {
        var tok = Gpt2Tokenizer.FromDataPackage();
        // Ids below 256 are single bytes (many are partial UTF-8); 50256 is <|endoftext|>.
        var id = Gen.Frequency((3, Gen.Int[0, 255]), (3, Gen.Int[0, 50256]), (1, Gen.Const(50256)));
        id.Array[0, 30].Sample(ids => Assert.Equal(tok.Decode(ids), Stream(tok, ids)), iter: 2000);
    }
}
