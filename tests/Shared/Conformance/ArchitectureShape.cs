namespace QuickSilver.Testing.Conformance;

/// <summary>The sizes every <see cref="ArchitectureCases"/> variant is built at.</summary>
/// <param name="Vocab">Vocabulary.</param>
/// <param name="Dim">Model width.</param>
/// <param name="Layers">Blocks (Gemma 3 always has 6: llama.cpp hard-codes its 5 local : 1 global pattern).</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads.</param>
/// <param name="HeadDim">Head width (Qwen3 uses twice this, so that heads × head_dim ≠ d).</param>
/// <param name="Ffn">MLP width.</param>
/// <param name="Positions">Context length written to the metadata.</param>
/// <param name="Window">Sliding window of the windowed families.</param>
/// <param name="OriginalContext">Pre-extension context of llama3 and longrope scaling.</param>
/// <param name="AttentionSoftCap">Gemma 2's attention soft-cap, small enough to bite.</param>
/// <param name="FinalSoftCap">Gemma 2's final logit soft-cap, small enough to bite.</param>
internal sealed record ArchitectureShape(
    int Vocab, int Dim, int Layers, int Heads, int KvHeads, int HeadDim, int Ffn, int Positions, int Window, int OriginalContext,
    float AttentionSoftCap, float FinalSoftCap)
{
    /// <summary>The unit-test size: V 64, d 64, 3 layers, 4 heads over 2 KV heads of 16, MLP 96, 64 positions, windows of 8.</summary>
    public static ArchitectureShape Tiny { get; } = new(64, 64, 3, 4, 2, 16, 96, 64, 8, 16, 2f, 3f);

    /// <summary>
    /// The conformance-matrix size: every matrix row is a multiple of 256 values (d 256, MLP 512, 4 heads of 64 over 2 KV
    /// heads, V 256), so every k-quant is valid for every tensor and llama-quantize writes the type asked for; 2 layers,
    /// 256 positions, windows of 32, an original context of 32 that every evaluation sequence crosses (llama.cpp picks longrope's long factors by its context, the sequence length here).
    /// </summary>
    public static ArchitectureShape Conformance { get; } = new(256, 256, 2, 4, 2, 64, 512, 256, 32, 32, 4f, 8f);
}
