using QuickSilver.Engine.Loading;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// A random Llama (GQA, SwiGLU, RMSNorm, adjacent-pair RoPE as llama.cpp runs <c>llama</c>) written as llama.cpp's
/// converter writes it, at widths that every block type divides: d = 256, FFN 512, 4 heads of 64, 2 KV heads, vocab 256.
/// </summary>
internal sealed class LlamaConformanceModel : IConformanceArchitecture
{
    /// <summary>Model width.</summary>
    public int Dim { get; init; } = 256;
    /// <summary>FFN width.</summary>
    public int Hidden { get; init; } = 512;
    /// <summary>Blocks.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Query heads.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Key/value heads.</summary>
    public int KvHeads { get; init; } = 2;
    /// <summary>Vocabulary (byte-sized, so text bytes are tokens).</summary>
    public int Vocab { get; init; } = 256;
    /// <summary>Context length written to the metadata.</summary>
    public int Context { get; init; } = 256;
    /// <summary>RNG seed of the weights.</summary>
    public int Seed { get; init; } = 20261202;

    /// <inheritdoc/>
    public string Name => "llama";

    /// <inheritdoc/>
    public void WriteGguf(string path)
    {
        int headDim = Dim / Heads, kvDim = KvHeads * headDim;
        var random = new Random(Seed);
        const string A = "llama";
        var writer = new GgufWriter()
            .AddMetadata("general.architecture", A)
            .AddMetadata("general.type", "model")
            .AddMetadata("general.name", "Conformance Llama")
            .AddMetadata(A + ".block_count", (uint)Layers)
            .AddMetadata(A + ".context_length", (uint)Context)
            .AddMetadata(A + ".embedding_length", (uint)Dim)
            .AddMetadata(A + ".feed_forward_length", (uint)Hidden)
            .AddMetadata(A + ".attention.head_count", (uint)Heads)
            .AddMetadata(A + ".attention.head_count_kv", (uint)KvHeads)
            .AddMetadata(A + ".rope.freq_base", 10000f)
            .AddMetadata(A + ".attention.layer_norm_rms_epsilon", 1e-5f)
            .AddMetadata("general.file_type", 0u)
            .AddMetadata(A + ".vocab_size", (uint)Vocab)
            .AddMetadata(A + ".rope.dimension_count", (uint)headDim);
        ConformanceVocabulary.AddSentencePiece(writer, Vocab);

        writer.AddTensor("token_embd.weight", [Vocab, Dim], Uniform(random, Vocab * Dim, 1f));
        for (int l = 0; l < Layers; l++)
        {
            string p = $"blk.{l}.";
            writer.AddTensor(p + "attn_norm.weight", [Dim], Norm(random, Dim));
            writer.AddTensor(p + "attn_q.weight", [Dim, Dim], Linear(random, Dim, Dim));
            writer.AddTensor(p + "attn_k.weight", [kvDim, Dim], Linear(random, kvDim, Dim));
            writer.AddTensor(p + "attn_v.weight", [kvDim, Dim], Linear(random, kvDim, Dim));
            writer.AddTensor(p + "attn_output.weight", [Dim, Dim], Branch(random, Dim, Dim));
            writer.AddTensor(p + "ffn_norm.weight", [Dim], Norm(random, Dim));
            writer.AddTensor(p + "ffn_gate.weight", [Hidden, Dim], Linear(random, Hidden, Dim));
            writer.AddTensor(p + "ffn_up.weight", [Hidden, Dim], Linear(random, Hidden, Dim));
            writer.AddTensor(p + "ffn_down.weight", [Dim, Hidden], Branch(random, Dim, Hidden));
        }
        writer.AddTensor("output_norm.weight", [Dim], Norm(random, Dim));
        // Logits with a spread of a few units, so perplexity and argmax are informative.
        writer.AddTensor("output.weight", [Vocab, Dim], Uniform(random, Vocab * Dim, 4f * MathF.Sqrt(3f / Dim)));
        writer.Write(path);
    }

    /// <inheritdoc/>
    public double[][] ReferenceLogits(string gguf, IReadOnlyList<int> tokens) => Float64Llama.Logits(gguf, tokens);

    /// <inheritdoc/>
    public double[][] ReferenceLogitsRoundedLikeLlamaCpp(string gguf, IReadOnlyList<int> tokens) => Float64Llama.Logits(gguf, tokens, roundLikeLlamaCpp: true);

    /// <summary>Uniform weights scaled so a product with a unit-RMS input has unit RMS.</summary>
    private static float[] Linear(Random random, int rows, int columns) => Uniform(random, rows * columns, MathF.Sqrt(3f / columns));

    /// <summary>
    /// The projections back into the residual stream, at half gain: in trained models each block nudges the stream rather
    /// than replacing it, and a random model at full gain is chaotic enough to turn 8-bit activation rounding into
    /// logit differences far beyond what it does in real files.
    /// </summary>
    private static float[] Branch(Random random, int rows, int columns) => Uniform(random, rows * columns, BranchGain * MathF.Sqrt(3f / columns));

    /// <summary>Gain of the residual-branch output projections.</summary>
    public const float BranchGain = 0.5f;

    private static float[] Norm(Random random, int count) => [.. Uniform(random, count, 0.2f).Select(v => 1 + v)];

    private static float[] Uniform(Random random, int count, float scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        return values;
    }
}
