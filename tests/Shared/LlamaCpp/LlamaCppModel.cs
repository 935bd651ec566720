using LLama;
using LLama.Common;
using LLama.Native;

namespace QuickSilver.Testing.LlamaCpp;

/// <summary>
/// llama.cpp (through LLamaSharp 0.30, CPU backend) as a logits oracle: one decode of a token list with logits requested
/// at every position, on a GGUF as stored (llama.cpp's own tensor types and kernels).
/// </summary>
/// <remarks>
/// By default the KV cache is float32 and flash attention is off, so that the only approximations left on llama.cpp's
/// side are the ones its quantized matmuls make (activations quantized to 8 bits: Q8_0 for the 32-blocks, Q8_K for the
/// k-quants). <see cref="LlamaCppOptions.AsUsersRunIt"/> keeps llama.cpp's defaults (F16 cache, automatic flash
/// attention) instead.
/// </remarks>
internal static class LlamaCppModel
{
    /// <summary>Logits at every position: <c>result[position][token]</c>.</summary>
    /// <param name="gguf">The model file.</param>
    /// <param name="tokens">Token ids, fed as they are (no tokenizer involved), positions 0..n-1.</param>
    /// <param name="options">Threads and numerics; defaults as described on the class.</param>
    /// <exception cref="InvalidOperationException">llama.cpp refused the file or the batch; the message carries its log.</exception>
    public static float[][] LogitsAtEveryPosition(string gguf, IReadOnlyList<int> tokens, LlamaCppOptions? options = null) =>
        Run(gguf, tokens, options, ctx =>
        {
            var batch = new LLamaBatch();
            for (int i = 0; i < tokens.Count; i++) batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, true);
            Decode(ctx, batch);
            var result = new float[tokens.Count][];
            for (int i = 0; i < tokens.Count; i++) result[i] = ctx.NativeHandle.GetLogitsIth(i).ToArray();
            return result;
        });

    /// <summary>
    /// Logits at every position with sliding-window attention over <paramref name="window"/> tokens (the current one
    /// included) in every layer, for files whose llama.cpp graph has no window (Mistral, converted as <c>llama</c>): one
    /// token per decode, and before each step every cache entry older than the window is removed from the sequence
    /// (<c>llama_memory_seq_rm</c>). That is Mistral's own rolling-buffer cache, hence exactly its attention.
    /// </summary>
    /// <param name="gguf">The model file.</param>
    /// <param name="tokens">Token ids, positions 0..n-1.</param>
    /// <param name="window">Keys visible to each query, itself included.</param>
    /// <param name="options">Threads and numerics.</param>
    public static float[][] LogitsWithSlidingWindow(string gguf, IReadOnlyList<int> tokens, int window, LlamaCppOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        return Run(gguf, tokens, options, ctx =>
        {
            var result = new float[tokens.Count][];
            for (int i = 0; i < tokens.Count; i++)
            {
                if (i >= window) ctx.NativeHandle.MemorySequenceRemove(LLamaSeqId.Zero, 0, i - window + 1);
                var batch = new LLamaBatch();
                batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, true);
                Decode(ctx, batch);
                result[i] = ctx.NativeHandle.GetLogitsIth(0).ToArray();
            }
            return result;
        });
    }

    private static void Decode(LLamaContext ctx, LLamaBatch batch)
    {
        DecodeResult status = ctx.Decode(batch);
        if (status != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {status}.");
    }

    private static float[][] Run(string gguf, IReadOnlyList<int> tokens, LlamaCppOptions? options, Func<LLamaContext, float[][]> body)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count == 0) throw new ArgumentException("At least one token is needed.", nameof(tokens));
        options ??= new LlamaCppOptions();
        LlamaCppRuntime.EnsureLoaded();
        lock (LlamaCppRuntime.Gate)
        {
            LlamaCppRuntime.ClearLog();
            uint context = (uint)Math.Max(tokens.Count, 8);
            var parameters = new ModelParams(gguf)
            {
                ContextSize = context,
                BatchSize = context,
                UBatchSize = context,
                Threads = options.Threads,
                BatchThreads = options.Threads,
                GpuLayerCount = 0,
            };
            if (!options.AsUsersRunIt)
            {
                parameters.TypeK = GGMLType.GGML_TYPE_F32;
                parameters.TypeV = GGMLType.GGML_TYPE_F32;
                parameters.FlashAttention = false;
            }
            try
            {
                using LLamaWeights weights = LLamaWeights.LoadFromFile(parameters);
                using LLamaContext ctx = weights.CreateContext(parameters);
                return body(ctx);
            }
            catch (Exception e) when (e is not InvalidOperationException || e.Message.StartsWith("llama_decode", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"llama.cpp on {gguf}: {e.Message}{Environment.NewLine}{LlamaCppRuntime.RecentLog}", e);
            }
        }
    }
}
