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
    public static float[][] LogitsAtEveryPosition(string gguf, IReadOnlyList<int> tokens, LlamaCppOptions? options = null)
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
                var batch = new LLamaBatch();
                for (int i = 0; i < tokens.Count; i++) batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, true);
                DecodeResult status = ctx.Decode(batch);
                if (status != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {status}.");
                var result = new float[tokens.Count][];
                for (int i = 0; i < tokens.Count; i++) result[i] = ctx.NativeHandle.GetLogitsIth(i).ToArray();
                return result;
            }
            catch (Exception e) when (e is not InvalidOperationException || e.Message.StartsWith("llama_decode", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"llama.cpp on {gguf}: {e.Message}{Environment.NewLine}{LlamaCppRuntime.RecentLog}", e);
            }
        }
    }
}
