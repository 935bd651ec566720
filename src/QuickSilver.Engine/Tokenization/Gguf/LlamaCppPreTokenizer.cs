namespace QuickSilver.Engine.Tokenization.Gguf;

/// <summary>
/// What llama.cpp's <c>llama-vocab.cpp</c> derives from a byte-level BPE file's <c>tokenizer.ggml.pre</c>: the regexes
/// that split text into words (applied one after another, each splitting the pieces of the previous one and keeping
/// the unmatched text as pieces), and the flags the name implies.
/// </summary>
/// <param name="Names">The <c>tokenizer.ggml.pre</c> values llama.cpp maps to this pre-tokenizer.</param>
/// <param name="Regexes">The split regexes in order, as llama.cpp writes them (its case-insensitive contractions spelled out).</param>
/// <param name="IgnoreMerges">A word that is itself a token is taken whole (llama.cpp <c>ignore_merges</c>).</param>
/// <param name="AddBos">llama.cpp's default for <c>add_bos</c> when the file has no <c>tokenizer.ggml.add_bos_token</c>.</param>
/// <param name="NoBos">The family has no BOS token at all (GLM-4 sets the BOS id to none).</param>
public sealed record LlamaCppPreTokenizer(IReadOnlyList<string> Names, IReadOnlyList<string> Regexes, bool IgnoreMerges = false, bool AddBos = false, bool NoBos = false);
