using System.Text;
using System.Text.Json.Nodes;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>
/// SentencePiece-style BPE on a real 32k vocabulary: Llama 2's tokenizer.json is rebuilt from its tokenizer.bin (pieces and
/// scores) the way transformers' LlamaConverter builds it (merges from the scores, Prepend/Replace normalizers, byte
/// fallback, Replace/ByteFallback/Fuse/Strip decoder), then checked against SentencePiece itself (tokenizer.model) on the
/// 202-string corpus.
/// </summary>
public sealed class Llama2TokenizerJsonTests
{
    [Fact]
    public void Rebuilt_llama2_tokenizer_json_matches_sentencepiece_on_the_corpus()
    {
        string folder = Directory.CreateTempSubdirectory("qs-llama2-json-").FullName;
        try
        {
            var (pieces, scores) = ReadTokenizerBin(Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.bin"));
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), BuildTokenizerJson(pieces, scores).ToJsonString());
            var json = HuggingFaceTokenizer.Load(folder);
            var spm = TokenizerFactory.Load(Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.model"));

            var failures = new List<string>();
            foreach (string text in RealTokenizerFixtures.Corpus)
            {
                var expected = spm.Encode(text, addBos: true);
                var actual = json.Encode(text, addBos: true);
                // The one known difference is not ours: for a run of one repeated letter, equal-score merges ("A AAA",
                // "AA AA") are ordered by piece id in the converted merges but by position in SentencePiece, so
                // transformers' own fast and slow Llama 2 tokenizers disagree there as well.
                if (!actual.SequenceEqual(expected) && !IsRepeatedLetterRun(text))
                {
                    failures.Add($"{System.Text.Json.JsonSerializer.Serialize(text)}: got [{string.Join(",", actual)}] want [{string.Join(",", expected)}]");
                }
                Assert.Equal(spm.Decode(expected), json.Decode(actual));
            }
            Assert.True(failures.Count == 0, $"{failures.Count} differ:\n{string.Join("\n", failures.Take(10))}");
            Assert.Equal(1, json.BosTokenId);
            Assert.True(json.AddBosToken);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static bool IsRepeatedLetterRun(string text) => text.Length > 8 && text.All(c => c == text[0]);

    private static (string[] Pieces, float[] Scores) ReadTokenizerBin(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadInt32(); // max token length
        var pieces = new List<string>();
        var scores = new List<float>();
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            scores.Add(reader.ReadSingle());
            pieces.Add(Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadInt32())).Replace(' ', '▁'));
        }
        return ([.. pieces], [.. scores]);
    }

    // transformers' SentencePieceExtractor: every split of a piece into two pieces is a merge, ordered by the score of the piece.
    private static JsonObject BuildTokenizerJson(string[] pieces, float[] scores)
    {
        var vocab = new JsonObject();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            if (ids.TryAdd(pieces[id], id))
            {
                vocab[pieces[id]] = id;
            }
        }
        var merges = new List<(string Left, string Right, float Score, int LeftId, int RightId)>();
        for (int id = 3 + 256; id < pieces.Length; id++)
        {
            string piece = pieces[id];
            for (int split = 1; split < piece.Length; split++)
            {
                if (char.IsLowSurrogate(piece[split])) continue;
                if (ids.TryGetValue(piece[..split], out int l) && ids.TryGetValue(piece[split..], out int r) && l >= 3 + 256 && r >= 3 + 256)
                {
                    merges.Add((piece[..split], piece[split..], scores[id], l, r));
                }
            }
        }
        var ordered = merges.OrderByDescending(m => m.Score).ThenBy(m => m.LeftId).ThenBy(m => m.RightId);
        return SyntheticTokenizerJson.SentencePieceRoot(vocab, new JsonArray([.. ordered.Select(m => (JsonNode)JsonValue.Create($"{m.Left} {m.Right}")!)]));
    }
}
