using System.Text.Json;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Tests.Loading;

/// <summary>
/// A small random Llama held in llama2.c / Meta (interleaved RoPE) layout, writable as llama2.c .bin, GGUF and HF folder.
/// Dimensions are multiples of 32 so every matrix can be block-quantized.
/// </summary>
internal sealed class TinyLlama
{
    public int Dim { get; init; } = 32;
    public int Hidden { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int Vocab { get; init; } = 32;
    public int SeqLen { get; init; } = 16;
    public int HeadDim => Dim / Heads;
    public int KvDim => KvHeads * HeadDim;

    public float[] Embedding = [];
    public float[][] AttnNorm = [], Wq = [], Wk = [], Wv = [], Wo = [], FfnNorm = [], W1 = [], W2 = [], W3 = [];
    public float[] FinalNorm = [];
    public float[] Classifier = [];

    public static TinyLlama Create(int seed = 7)
    {
        var model = new TinyLlama();
        model.Fill(seed);
        return model;
    }

    private void Fill(int seed)
    {
        int s = seed;
        Embedding = TestData.Random(Vocab * Dim, s++);
        AttnNorm = PerLayer(Dim, ref s, norm: true);
        Wq = PerLayer(Dim * Dim, ref s);
        Wk = PerLayer(KvDim * Dim, ref s);
        Wv = PerLayer(KvDim * Dim, ref s);
        Wo = PerLayer(Dim * Dim, ref s);
        FfnNorm = PerLayer(Dim, ref s, norm: true);
        W1 = PerLayer(Hidden * Dim, ref s);
        W2 = PerLayer(Dim * Hidden, ref s);
        W3 = PerLayer(Hidden * Dim, ref s);
        FinalNorm = TestData.Random(Dim, s++).Select(v => 1 + (0.1f * v)).ToArray();
        Classifier = TestData.Random(Vocab * Dim, s++);
    }

    private float[][] PerLayer(int count, ref int seed, bool norm = false)
    {
        var result = new float[Layers][];
        for (int l = 0; l < Layers; l++)
        {
            float[] values = TestData.Random(count, seed++);
            result[l] = norm ? values.Select(v => 1 + (0.1f * v)).ToArray() : values;
        }
        return result;
    }

    /// <summary>HF rotate-half rows from interleaved rows, written out independently of the code under test.</summary>
    public static float[] ToRotateHalf(float[] w, int heads, int headDim, int columns)
    {
        var result = new float[w.Length];
        for (int row = 0; row < heads * headDim; row++)
        {
            int head = row / headDim, within = row % headDim;
            int pairIndex = within / 2, member = within % 2; // interleaved: row 2i+j
            int target = (head * headDim) + (member * (headDim / 2)) + pairIndex;
            Array.Copy(w, row * columns, result, target * columns, columns);
        }
        return result;
    }

    public byte[] Llama2cBytes(bool separateClassifier = false)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        foreach (int field in new[] { Dim, Hidden, Layers, Heads, KvHeads, separateClassifier ? -Vocab : Vocab, SeqLen }) writer.Write(field);
        void Write(IEnumerable<float> values) { foreach (float v in values) writer.Write(v); }
        Write(Embedding);
        foreach (float[][] group in new[] { AttnNorm, Wq, Wk, Wv, Wo, FfnNorm, W1, W2, W3 })
            foreach (float[] layer in group) Write(layer);
        Write(FinalNorm);
        // freq_cis_real and freq_cis_imag: seq_len * head_dim / 2 each; contents are ignored by loaders.
        Write(Enumerable.Repeat(0.5f, SeqLen * HeadDim));
        if (separateClassifier) Write(Classifier);
        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>The "ak42" export layouts, written from llama2.c export.py's version1_export / version2_export.</summary>
    public byte[] Llama2cExportBytes(int version, bool separateClassifier = false, int groupSize = 32)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write(0x616B3432u);
        writer.Write(version);
        foreach (int field in new[] { Dim, Hidden, Layers, Heads, KvHeads, Vocab, SeqLen }) writer.Write(field);
        writer.Write((byte)(separateClassifier ? 0 : 1));
        if (version == 2) writer.Write(groupSize);
        while (stream.Position < 256) writer.Write((byte)0);
        void Write(IEnumerable<float> values) { foreach (float v in values) writer.Write(v); }
        foreach (float[] layer in AttnNorm) Write(layer);
        foreach (float[] layer in FfnNorm) Write(layer);
        Write(FinalNorm);
        var matrices = new List<float[]> { Embedding };
        foreach (float[][] group in new[] { Wq, Wk, Wv, Wo, W1, W2, W3 }) matrices.AddRange(group);
        if (separateClassifier) matrices.Add(Classifier);
        foreach (float[] w in matrices)
        {
            if (version == 1)
            {
                Write(w);
                continue;
            }
            (sbyte[] q, float[] scales) = QuantizeGroups(w, groupSize);
            foreach (sbyte v in q) writer.Write(v);
            Write(scales);
        }
        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>export.py quantize_q80: scale = max|w|/127 per group, q = round(w / scale).</summary>
    public static (sbyte[] Quantized, float[] Scales) QuantizeGroups(float[] w, int groupSize)
    {
        var q = new sbyte[w.Length];
        var scales = new float[w.Length / groupSize];
        for (int g = 0; g < scales.Length; g++)
        {
            float max = 0;
            for (int i = 0; i < groupSize; i++) max = Math.Max(max, Math.Abs(w[(g * groupSize) + i]));
            scales[g] = max / 127f;
            for (int i = 0; i < groupSize; i++) q[(g * groupSize) + i] = (sbyte)MathF.Round(w[(g * groupSize) + i] / scales[g]);
        }
        return (q, scales);
    }

    public static float[] DequantizeGroups(float[] w, int groupSize)
    {
        (sbyte[] q, float[] scales) = QuantizeGroups(w, groupSize);
        return q.Select((v, i) => v * scales[i / groupSize]).ToArray();
    }

    public float[] QBias(int layer) => TestData.Random(Dim, 500 + layer);
    public float[] KBias(int layer) => TestData.Random(KvDim, 600 + layer);
    public float[] VBias(int layer) => TestData.Random(KvDim, 700 + layer);

    /// <summary>A GGUF of this model. "llama" stores q/k interleaved (as llama.cpp's converter does); "qwen2" stores them rotate-half.</summary>
    public GgufWriter GgufWriter(GgufTensorType matrixType = GgufTensorType.F32, bool withOutput = true, string architecture = "llama", bool withBiases = false)
    {
        string a = architecture;
        bool interleaved = architecture == "llama";
        var writer = new GgufWriter()
            .AddMetadata("general.architecture", a)
            .AddMetadata("general.name", "tiny")
            .AddMetadata(a + ".context_length", (uint)SeqLen)
            .AddMetadata(a + ".embedding_length", (uint)Dim)
            .AddMetadata(a + ".feed_forward_length", (uint)Hidden)
            .AddMetadata(a + ".block_count", (uint)Layers)
            .AddMetadata(a + ".attention.head_count", (uint)Heads)
            .AddMetadata(a + ".attention.head_count_kv", (uint)KvHeads)
            .AddMetadata(a + ".rope.dimension_count", (uint)HeadDim)
            .AddMetadata(a + ".attention.layer_norm_rms_epsilon", 1e-5f)
            .AddMetadata("tokenizer.ggml.model", "llama")
            .AddMetadata("tokenizer.ggml.tokens", Enumerable.Range(0, Vocab).Select(i => $"t{i}").ToArray())
            .AddMetadata("tokenizer.ggml.scores", Enumerable.Range(0, Vocab).Select(i => -(float)i).ToArray())
            .AddMetadata("tokenizer.ggml.token_type", Enumerable.Range(0, Vocab).Select(_ => 1).ToArray())
            .AddMetadata("tokenizer.ggml.bos_token_id", 1u)
            .AddMetadata("tokenizer.ggml.eos_token_id", 2u);
        writer.AddTensor("token_embd.weight", [Vocab, Dim], Embedding, matrixType);
        writer.AddTensor("output_norm.weight", [Dim], FinalNorm);
        if (withOutput) writer.AddTensor("output.weight", [Vocab, Dim], Classifier, matrixType);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"blk.{l}.";
            writer.AddTensor(p + "attn_q.weight", [Dim, Dim], interleaved ? Wq[l] : ToRotateHalf(Wq[l], Heads, HeadDim, Dim), matrixType);
            writer.AddTensor(p + "attn_k.weight", [KvDim, Dim], interleaved ? Wk[l] : ToRotateHalf(Wk[l], KvHeads, HeadDim, Dim), matrixType);
            if (withBiases)
            {
                // Biases are written in the file's own row order: interleaved for llama, so they get permuted on load.
                writer.AddTensor(p + "attn_q.bias", [Dim], QBias(l));
                writer.AddTensor(p + "attn_k.bias", [KvDim], KBias(l));
                writer.AddTensor(p + "attn_v.bias", [KvDim], VBias(l));
            }
            writer.AddTensor(p + "attn_v.weight", [KvDim, Dim], Wv[l], matrixType);
            writer.AddTensor(p + "attn_output.weight", [Dim, Dim], Wo[l], matrixType);
            writer.AddTensor(p + "attn_norm.weight", [Dim], AttnNorm[l]);
            writer.AddTensor(p + "ffn_gate.weight", [Hidden, Dim], W1[l], matrixType);
            writer.AddTensor(p + "ffn_down.weight", [Dim, Hidden], W2[l], matrixType);
            writer.AddTensor(p + "ffn_up.weight", [Hidden, Dim], W3[l], matrixType);
            writer.AddTensor(p + "ffn_norm.weight", [Dim], FfnNorm[l]);
        }
        return writer;
    }

    public IEnumerable<SafetensorsTestWriter.Entry> HfEntries(bool withHead)
    {
        yield return SafetensorsTestWriter.F32("model.embed_tokens.weight", [Vocab, Dim], Embedding);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            yield return SafetensorsTestWriter.F32(p + "input_layernorm.weight", [Dim], AttnNorm[l]);
            yield return SafetensorsTestWriter.F32(p + "self_attn.q_proj.weight", [Dim, Dim], ToRotateHalf(Wq[l], Heads, HeadDim, Dim));
            yield return SafetensorsTestWriter.F32(p + "self_attn.k_proj.weight", [KvDim, Dim], ToRotateHalf(Wk[l], KvHeads, HeadDim, Dim));
            yield return SafetensorsTestWriter.F32(p + "self_attn.v_proj.weight", [KvDim, Dim], Wv[l]);
            yield return SafetensorsTestWriter.F32(p + "self_attn.o_proj.weight", [Dim, Dim], Wo[l]);
            yield return SafetensorsTestWriter.F32(p + "post_attention_layernorm.weight", [Dim], FfnNorm[l]);
            yield return SafetensorsTestWriter.F32(p + "mlp.gate_proj.weight", [Hidden, Dim], W1[l]);
            yield return SafetensorsTestWriter.F32(p + "mlp.up_proj.weight", [Hidden, Dim], W3[l]);
            yield return SafetensorsTestWriter.F32(p + "mlp.down_proj.weight", [Dim, Hidden], W2[l]);
        }
        yield return SafetensorsTestWriter.F32("model.norm.weight", [Dim], FinalNorm);
        if (withHead) yield return SafetensorsTestWriter.F32("lm_head.weight", [Vocab, Dim], Classifier);
    }

    public Dictionary<string, object?> HfConfig(bool tied) => new()
    {
        ["architectures"] = new[] { "LlamaForCausalLM" },
        ["model_type"] = "llama",
        ["hidden_size"] = Dim,
        ["intermediate_size"] = Hidden,
        ["num_hidden_layers"] = Layers,
        ["num_attention_heads"] = Heads,
        ["num_key_value_heads"] = KvHeads,
        ["vocab_size"] = Vocab,
        ["max_position_embeddings"] = SeqLen,
        ["rms_norm_eps"] = 1e-5,
        ["rope_theta"] = 10000.0,
        ["hidden_act"] = "silu",
        ["tie_word_embeddings"] = tied,
        ["bos_token_id"] = 1,
        ["eos_token_id"] = new[] { 2, 3 },
    };

    public string WriteHfFolder(string folder, bool withHead = true, Action<Dictionary<string, object?>>? editConfig = null)
    {
        Directory.CreateDirectory(folder);
        Dictionary<string, object?> config = HfConfig(tied: !withHead);
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));
        SafetensorsTestWriter.Write(Path.Combine(folder, "model.safetensors"), HfEntries(withHead));
        return folder;
    }
}
