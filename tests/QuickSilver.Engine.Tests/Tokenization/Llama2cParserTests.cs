using System.Buffers.Binary;
using CsCheck;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

public sealed class Llama2cParserTests
{
    private static readonly byte[] Tok512Bytes = File.ReadAllBytes(SharedAssets.Stories260KTokenizer);

    /// <summary>A valid file: max_token_length, then the 259 mandatory tokens and the given extra pieces.</summary>
    private static byte[] BuildFile(uint maxTokenLength, params (float Score, byte[] Piece)[] extra)
    {
        var stream = new MemoryStream();
        var writer = new BinaryWriter(stream);
        writer.Write(maxTokenLength);
        void Add(float score, byte[] piece) { writer.Write(score); writer.Write(piece.Length); writer.Write(piece); }
        Add(0, "<unk>"u8.ToArray());
        Add(0, "\n<s>\n"u8.ToArray());
        Add(0, "\n</s>\n"u8.ToArray());
        for (int b = 0; b < 256; b++) Add(0, System.Text.Encoding.ASCII.GetBytes($"<0x{b:X2}>"));
        foreach (var (score, piece) in extra) Add(score, piece);
        return stream.ToArray();
    }

    private static TokenizerException Rejects(byte[] data, int? vocabSize = null)
    {
        var ex = Assert.Throws<TokenizerException>(() => Llama2cTokenizer.Parse(data, "bad-tok.bin", vocabSize));
        Assert.Contains("bad-tok.bin", ex.Message);
        return ex;
    }

    [Fact]
    public void A_minimal_hand_built_vocabulary_merges_by_score()
    {
        byte[] file = BuildFile(6, (-1f, " "u8.ToArray()), (-2f, "a"u8.ToArray()), (-3f, "b"u8.ToArray()),
            (-10f, "ab"u8.ToArray()), (-5f, " a"u8.ToArray()), (-4f, "bb"u8.ToArray()));
        var tok = Llama2cTokenizer.Parse(file, "mini.bin");
        Assert.Equal(265, tok.VocabSize);
        // " abb": symbols [" ", a, b, b]; candidates " a"(-5), "ab"(-10), "bb"(-4) -> bb first, then " a".
        Assert.Equal([1, 263, 264], tok.Encode("abb", addBos: true));
        // " ab": " a"(-5) beats "ab"(-10).
        Assert.Equal([263, 261], tok.Encode("ab", addBos: false));
        // Ties go to the leftmost pair: " bbb" -> [" ", bb, b].
        Assert.Equal([259, 264, 261], tok.Encode("bbb", addBos: false));
        // 'c' is no piece: byte fallback 'c' + 3.
        Assert.Equal([259, 'c' + 3], tok.Encode("c", addBos: false));
    }

    [Fact]
    public void Merges_whose_score_is_not_above_minus_1e10_never_happen_as_in_run_c()
    {
        byte[] file = BuildFile(6, (0f, " "u8.ToArray()), (0f, "a"u8.ToArray()), (-2e10f, " a"u8.ToArray()), (float.NaN, "aa"u8.ToArray()));
        var tok = Llama2cTokenizer.Parse(file, "mini.bin");
        Assert.Equal([259, 260, 260], tok.Encode("aa", addBos: false));
    }

    [Fact]
    public void Vocab_size_reads_exactly_that_many_tokens_and_ignores_trailing_bytes()
    {
        var tok = Llama2cTokenizer.Parse(Tok512Bytes, "tok512.bin", vocabSize: 300);
        Assert.Equal(300, tok.VocabSize);
        var ex = Rejects(Tok512Bytes.Concat(new byte[3]).ToArray()); // 3 stray bytes read as a token header
        Assert.Contains("truncated", ex.Message);
        Assert.Contains("512", Rejects(Tok512Bytes, vocabSize: 513).Message);
        Assert.Contains("below 3", Rejects(Tok512Bytes, vocabSize: 2).Message);
        Assert.Equal(100, Llama2cTokenizer.Parse(Tok512Bytes, "tok512.bin", vocabSize: 100).VocabSize);
    }

    [Fact]
    public void Bad_headers_and_lengths_are_rejected_with_specific_messages()
    {
        Assert.Contains("max_token_length", Rejects([1, 2]).Message);
        Assert.Contains("max_token_length 0", Rejects(new byte[4]).Message);
        Assert.Contains("max_token_length 4294967295", Rejects([0xFF, 0xFF, 0xFF, 0xFF]).Message);

        byte[] negative = (byte[])Tok512Bytes.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(negative.AsSpan(4 + 4), -5); // length of token 0
        Assert.Contains("negative length -5", Rejects(negative).Message);

        byte[] tooLong = (byte[])Tok512Bytes.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(tooLong.AsSpan(4 + 4), 8);
        Assert.Contains("longer than max_token_length 7", Rejects(tooLong).Message);

        byte[] beyond = BuildFile(60_000);
        BinaryPrimitives.WriteInt32LittleEndian(beyond.AsSpan(beyond.Length - 6 - 4), 50_000); // last token's length
        Assert.Contains("beyond the end of the file", Rejects(beyond).Message);

        Assert.Contains("token 511 needs", Rejects(Tok512Bytes[..^3]).Message);
        Assert.Contains("truncated in the header of token 259", Rejects(BuildFile(7).Concat(new byte[7]).ToArray()).Message);
        Assert.Equal(258, Llama2cTokenizer.Parse(BuildFile(7)[..^14], "short.bin").VocabSize);
        Assert.Contains("has 2 tokens", Rejects(BuildFile(7)[..(4 + 8 + 5 + 8 + 5)]).Message);
    }

    [Fact]
    public void A_custom_105_token_vocabulary_without_byte_tokens_loads_and_never_emits_ids_it_lacks()
    {
        // BabyLlama-style: <unk>, BOS, EOS, then 102 pieces (no <0xXX> byte tokens): a space, letters, a few merges.
        var stream = new MemoryStream();
        var writer = new BinaryWriter(stream);
        writer.Write(8u);
        void Add(float score, string piece) { var b = System.Text.Encoding.UTF8.GetBytes(piece); writer.Write(score); writer.Write(b.Length); writer.Write(b); }
        Add(0, "<unk>"); Add(0, "\n<s>\n"); Add(0, "\n</s>\n");
        var pieces = new List<string> { " " };
        pieces.AddRange(Enumerable.Range('a', 26).Select(c => ((char)c).ToString()));
        pieces.AddRange(Enumerable.Range('A', 26).Select(c => ((char)c).ToString()));
        pieces.AddRange(Enumerable.Range('0', 10).Select(c => ((char)c).ToString()));
        pieces.AddRange([".", ",", "!", "?", "'", "\n", " t", "he", " the", " a", "in", "an", "on", "er", "ed", "nd", " s", " w", " b", "ou", " h", "is", " o", "at", "it", "en", " c", "ll", "ing", "es", " f", "or", " m", "ar", " d", "le", " l", "ay", " p"]);
        Assert.Equal(102, pieces.Count);
        for (int i = 0; i < pieces.Count; i++) Add(-i, pieces[i]);
        var tok = Llama2cTokenizer.Parse(stream.ToArray(), "tok105.bin", vocabSize: 105);

        Assert.Equal(105, tok.VocabSize);
        var ids = tok.Encode("the cat é#", addBos: true);
        Assert.All(ids, id => Assert.InRange(id, 0, 104));
        Assert.Equal(Llama2cTokenizer.BosId, ids[0]);
        // é and # have no piece and no byte token: each byte is <unk> (run.c would emit byte + 3, an id the vocabulary may lack).
        Assert.Equal(3, ids.Count(id => id == Llama2cTokenizer.UnknownId));
        Assert.Contains("the cat ", tok.Decode(ids.Skip(1)));
        Assert.False(tok.IsByteToken(3));
    }

    [Fact]
    public void Missing_file_is_a_tokenizer_exception_naming_the_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"qs-missing-{Guid.NewGuid():N}", "tok.bin");
        var ex = Assert.Throws<TokenizerException>(() => Llama2cTokenizer.Load(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Oversized_file_is_rejected_before_it_is_read()
    {
        string path = Path.Combine(Path.GetTempPath(), $"qs-huge-{Guid.NewGuid():N}-tok.bin");
        using (var stream = File.Create(path))
        {
            stream.SetLength(Llama2cTokenizer.MaxFileBytes + 1); // sparse: nothing is written
        }
        try
        {
            var ex = Assert.Throws<TokenizerException>(() => Llama2cTokenizer.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("at most", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Fuzz: random byte flips, truncations and insertions of tok512.bin; only TokenizerException may escape, and
    /// whatever parses must encode and decode random text without throwing.</summary>
    [Fact]
    public void Mutated_files_either_parse_or_throw_tokenizer_exception()
    {
        var mutation = Gen.OneOf(
            Gen.Select(Gen.Int[0, Tok512Bytes.Length - 1], Gen.Byte, (at, value) => Mutate(at, value)),
            Gen.Select(Gen.Int[0, Tok512Bytes.Length], at => Tok512Bytes[..at]),
            Gen.Select(Gen.Int[0, Tok512Bytes.Length], Gen.Byte.Array[1, 16], (at, bytes) => Tok512Bytes[..at].Concat(bytes).Concat(Tok512Bytes[at..]).ToArray()),
            Gen.Select(Gen.Int[0, 4095], Gen.Int, (header, value) => WriteInt(Math.Min(header, Tok512Bytes.Length - 4), value)));
        Gen.Select(mutation, Gen.String[0, 20]).Sample((data, text) =>
        {
            Llama2cTokenizer tok;
            try
            {
                tok = Llama2cTokenizer.Parse(data, "fuzz.bin");
            }
            catch (TokenizerException)
            {
                return;
            }
            var ids = tok.Encode(text, addBos: true);
            Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
            _ = tok.Decode(ids);
        }, iter: 3000);

        static byte[] Mutate(int at, byte value) { byte[] copy = (byte[])Tok512Bytes.Clone(); copy[at] = value; return copy; }
        static byte[] WriteInt(int at, int value) { byte[] copy = (byte[])Tok512Bytes.Clone(); BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(at), value); return copy; }
    }
}
