using LLama.Native;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine.Loading;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Cli.Speed;

/// <summary>
/// The benchmark's random Llama (24 layers, d 1024, ffn 2816, 16 heads, vocab 32,000: 374M parameters) as GGUF files:
/// F32 written by our writer with real llama metadata and a placeholder SentencePiece vocabulary, and the quantized
/// variants made from it by llama.cpp's quantizer (through LLamaSharp), each created once in the cache folder.
/// </summary>
internal static class SpeedModels
{
    public const int Layers = 24, Dim = 1024, Ffn = 2816, Heads = 16, Vocab = 32000, Context = 2048;

    /// <summary>The file variants, in table order.</summary>
    public static readonly string[] AllFormats = ["F32", "Q8_0", "Q4_0", "Q4_K_M"];

    /// <summary>Path of <paramref name="format"/> in <paramref name="cache"/>, creating it (and the F32 source) when absent.</summary>
    public static string Ensure(string cache, string format, Action<string> log)
    {
        Directory.CreateDirectory(cache);
        string f32 = Path.Combine(cache, "llama374m-f32.gguf");
        if (!File.Exists(f32))
        {
            log($"writing {f32} (random weights, seed 1)");
            WriteF32(f32 + ".tmp");
            File.Move(f32 + ".tmp", f32);
        }
        if (format == "F32") return f32;
        string path = Path.Combine(cache, $"llama374m-{format.ToLowerInvariant()}.gguf");
        if (File.Exists(path)) return path;
        log($"quantizing {path} with llama.cpp");
        switch (format)
        {
            // "all matrices" as in the issue's table: pure files, token_embd and output included.
            case "Q8_0": LlamaCppQuantizer.QuantizePure(f32, path + ".tmp", GgufTensorType.Q8_0); break;
            case "Q4_0": LlamaCppQuantizer.QuantizePure(f32, path + ".tmp", GgufTensorType.Q4_0); break;
            case "Q4_K_M": LlamaCppQuantizer.QuantizeMix(f32, path + ".tmp", LLamaFtype.MOSTLY_Q4_K_M); break;
            default: throw new CliException($"Unknown format '{format}' (known: {string.Join(", ", AllFormats)}).");
        }
        File.Move(path + ".tmp", path);
        return path;
    }

    private static void WriteF32(string path)
    {
        var random = new Random(1);
        float[] Values(long count, float std)
        {
            var values = new float[count];
            for (long i = 0; i < count; i++) values[i] = (float)(((random.NextDouble() * 2) - 1) * std * 1.7320508);
            return values;
        }
        float[] Ones(int count) => Enumerable.Repeat(1f, count).ToArray();
        var writer = new GgufWriter()
            .AddMetadata("general.architecture", "llama")
            .AddMetadata("general.name", "random-llama-374m")
            .AddMetadata("llama.context_length", (uint)Context)
            .AddMetadata("llama.embedding_length", (uint)Dim)
            .AddMetadata("llama.feed_forward_length", (uint)Ffn)
            .AddMetadata("llama.block_count", (uint)Layers)
            .AddMetadata("llama.attention.head_count", (uint)Heads)
            .AddMetadata("llama.attention.head_count_kv", (uint)Heads)
            .AddMetadata("llama.rope.dimension_count", (uint)(Dim / Heads))
            .AddMetadata("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .AddMetadata("tokenizer.ggml.model", "llama")
            .AddMetadata("tokenizer.ggml.tokens", Enumerable.Range(0, Vocab).Select(i => i switch { 0 => "<unk>", 1 => "<s>", 2 => "</s>", _ => $"▁t{i}" }).ToArray())
            .AddMetadata("tokenizer.ggml.scores", Enumerable.Range(0, Vocab).Select(i => -(float)i).ToArray())
            .AddMetadata("tokenizer.ggml.token_type", Enumerable.Range(0, Vocab).Select(i => i < 3 ? 3 : 1).ToArray())
            .AddMetadata("tokenizer.ggml.bos_token_id", 1u)
            .AddMetadata("tokenizer.ggml.eos_token_id", 2u);
        float std = 0.02f;
        writer.AddTensor("token_embd.weight", [Vocab, Dim], Values((long)Vocab * Dim, std));
        for (int l = 0; l < Layers; l++)
        {
            string p = $"blk.{l}.";
            writer.AddTensor(p + "attn_norm.weight", [Dim], Ones(Dim));
            writer.AddTensor(p + "attn_q.weight", [Dim, Dim], Values((long)Dim * Dim, std));
            writer.AddTensor(p + "attn_k.weight", [Dim, Dim], Values((long)Dim * Dim, std));
            writer.AddTensor(p + "attn_v.weight", [Dim, Dim], Values((long)Dim * Dim, std));
            writer.AddTensor(p + "attn_output.weight", [Dim, Dim], Values((long)Dim * Dim, std));
            writer.AddTensor(p + "ffn_norm.weight", [Dim], Ones(Dim));
            writer.AddTensor(p + "ffn_gate.weight", [Ffn, Dim], Values((long)Ffn * Dim, std));
            writer.AddTensor(p + "ffn_up.weight", [Ffn, Dim], Values((long)Ffn * Dim, std));
            writer.AddTensor(p + "ffn_down.weight", [Dim, Ffn], Values((long)Ffn * Dim, std));
        }
        writer.AddTensor("output_norm.weight", [Dim], Ones(Dim));
        writer.AddTensor("output.weight", [Vocab, Dim], Values((long)Vocab * Dim, std));
        writer.Write(path);
    }
}
