using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tokenization.HuggingFace;

namespace QuickSilver.Engine.Tokenization.Gguf;

/// <summary>
/// Builds the tokenizer of a GGUF file with <c>tokenizer.ggml.model = gpt2</c> (byte-level BPE: Llama 3, Qwen, SmolLM,
/// DeepSeek, Mistral Nemo, gpt-oss …) the way llama.cpp's <c>llm_tokenizer_bpe</c> runs it: control and user-defined
/// tokens are cut out of the text first, the rest is split by the regexes <c>tokenizer.ggml.pre</c> names
/// (<see cref="LlamaCppPreTokenizers"/>), spelled in the byte alphabet and merged by <c>tokenizer.ggml.merges</c> rank.
/// </summary>
/// <remarks>
/// Control tokens are special (matched only by <see cref="ITokenizer.EncodeWithSpecialTokens"/>, decode to nothing);
/// user-defined tokens are always matched, as llama.cpp's <c>tokenizer_st_partition</c> does. BOS/EOS default to
/// token 11 as in llama.cpp; <c>add_bos_token</c> defaults to what the pre-tokenizer implies (true for the Llama 3 and
/// Tekken families). <c>tokenizer.ggml.add_space_prefix</c> is read but, as in llama.cpp, has no effect on byte-level BPE.
/// </remarks>
internal static class GgufBpeVocabulary
{
    /// <summary>llama.cpp's default BOS/EOS id for BPE vocabularies.</summary>
    private const int DefaultBpeSpecialId = 11;

    /// <summary>Builds the tokenizer.</summary>
    /// <exception cref="TokenizerException">Missing merges, an unknown <c>pre</c>, duplicate tokens, or a merge outside the vocabulary; the message names the file and key.</exception>
    public static HuggingFaceTokenizer Build(GgufFile file)
    {
        var keys = new GgufTokenizerKeys(file);
        string source = keys.Source;
        var pre = LlamaCppPreTokenizers.Get(keys.String("tokenizer.ggml.pre"), source);
        if (!file.TryGetArray("tokenizer.ggml.merges", out string[]? mergeLines))
        {
            throw new TokenizerException($"{source}: tokenizer.ggml.merges is missing; a gpt2 (byte-level BPE) vocabulary needs its merges.");
        }

        string[] tokens = keys.Tokens;
        var vocab = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        var added = new List<AddedToken>();
        var isSpecial = new bool[tokens.Length];
        var controlIds = new HashSet<int>();
        for (int id = 0; id < tokens.Length; id++)
        {
            string text = tokens[id].Length == 0 ? $"[EMPTY_{id}]" : tokens[id];
            if (!vocab.TryAdd(text, id))
            {
                throw new TokenizerException($"{source}: tokenizer.ggml.tokens has '{text}' twice (ids {vocab[text]} and {id}).");
            }
            var type = LlamaCppTokenTypes.Effective(text, keys.TypeOf(id));
            if (type is GgufTokenType.Control or GgufTokenType.Unknown)
            {
                isSpecial[id] = true;
                controlIds.Add(id);
                added.Add(new AddedToken(id, text, Special: true));
            }
            else if (type == GgufTokenType.UserDefined)
            {
                added.Add(new AddedToken(id, text, Special: false));
            }
        }

        var merges = new List<(string, string)>(mergeLines.Length);
        for (int rank = 0; rank < mergeLines.Length; rank++)
        {
            // llama.cpp splits at the first space after the first byte, so a merge may start with a space.
            string line = mergeLines[rank];
            int space = line.Length > 1 ? line.IndexOf(' ', 1) : -1;
            if (space < 0)
            {
                throw new TokenizerException($"{source}: tokenizer.ggml.merges[{rank}] '{line}' is not two pieces separated by a space.");
            }
            merges.Add((line[..space], line[(space + 1)..]));
        }

        IHfPreTokenizer[] steps =
        [
            .. pre.Regexes.Select(r => (IHfPreTokenizer)new HfPreTokenizers.SplitPreTokenizer(
                HfPattern.Regex(r, $"{source}: tokenizer.ggml.pre '{pre.Names[0]}'"), SplitBehavior.Isolated, invert: false)),
            new HfPreTokenizers.ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false, source),
        ];

        int bos = pre.NoBos ? -1 : keys.Id("tokenizer.ggml.bos_token_id", DefaultBpeSpecialId);
        int eos = keys.Id("tokenizer.ggml.eos_token_id", DefaultBpeSpecialId);
        bool addBos = keys.Bool("tokenizer.ggml.add_bos_token") ?? pre.AddBos;
        bool addEos = keys.Bool("tokenizer.ggml.add_eos_token") ?? false;
        if (addBos && bos < 0)
        {
            throw new TokenizerException($"{source}: tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set.");
        }
        int[] stops = [keys.Id("tokenizer.ggml.eot_token_id", -1), keys.Id("tokenizer.ggml.eom_token_id", -1)];

        return new HuggingFaceTokenizer(new HfParts
        {
            Source = source,
            Pieces = [.. tokens],
            IsSpecial = isSpecial,
            ControlIds = controlIds,
            Added = new HfAddedVocabulary(added, normalizer: null),
            PreTokenizer = new HfPreTokenizers.SequencePreTokenizer(steps),
            Model = new HfBpeModel(vocab, merges, unknownToken: null, byteFallback: false, fuseUnknown: false, pre.IgnoreMerges, source),
            Decoder = HfDecoder.ByteLevel(),
            BosTokenId = bos,
            EosTokenId = eos,
            PadTokenId = keys.Id("tokenizer.ggml.padding_token_id", -1),
            AddBos = addBos,
            AddEos = addEos,
            DeclaredStopIds = [.. stops.Where(id => id >= 0)],
            ChatTemplates = keys.ChatTemplates(),
        });
    }
}
