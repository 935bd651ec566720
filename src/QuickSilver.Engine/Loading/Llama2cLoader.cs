using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Loads Karpathy's llama2.c legacy (version 0) checkpoints: a 28-byte header of seven int32
/// (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size — negative when a separate classifier follows —, seq_len)
/// then float32 arrays. The file size must equal exactly what the header implies. q/k rows are converted to rotate-half order.
/// </summary>
public static class Llama2cLoader
{
    /// <summary>Size of the header.</summary>
    public const int HeaderBytes = 28;
    /// <summary>Metadata key: the llama2.c tokenizer file found beside the checkpoint.</summary>
    public const string TokenizerPathKey = "tokenizer.path";

    /// <summary>llama2.c's newer export formats start with this magic ("ak42"); they are not the legacy layout.</summary>
    private const uint ExportMagic = 0x616B3432;

    /// <summary>Loads a .bin checkpoint.</summary>
    /// <param name="binPath">The checkpoint.</param>
    /// <exception cref="ModelFormatException">Missing, wrong size, or a header that describes no valid model.</exception>
    public static CheckpointData Load(string binPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(binPath);
        using SafeFileHandle handle = FileSlice.OpenRead(binPath);
        long length = RandomAccess.GetLength(handle);
        if (length < HeaderBytes)
            throw new ModelFormatException(binPath, $"file is {length} bytes, too short for the {HeaderBytes}-byte llama2.c header.");
        Span<byte> header = stackalloc byte[HeaderBytes];
        FileSlice.ReadExactly(handle, 0, header, binPath, "the header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) == ExportMagic)
        {
            int version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
            throw new ModelFormatException(binPath, $"this is a llama2.c export of version {version} (magic \"ak42\"); only the legacy version-0 layout is supported.");
        }

        int dim = Field(header, 0), hiddenDim = Field(header, 1), layers = Field(header, 2), heads = Field(header, 3),
            kvHeads = Field(header, 4), signedVocab = Field(header, 5), seqLen = Field(header, 6);
        Positive(dim, "dim");
        Positive(hiddenDim, "hidden_dim");
        Positive(layers, "n_layers");
        Positive(heads, "n_heads");
        Positive(kvHeads, "n_kv_heads");
        Positive(seqLen, "seq_len");
        if (signedVocab is 0 or int.MinValue)
            throw new ModelFormatException(binPath, $"header field vocab_size is {signedVocab}; it must be non-zero.");
        if (dim % heads != 0)
            throw new ModelFormatException(binPath, $"header field dim ({dim}) is not a multiple of n_heads ({heads}).");
        if (kvHeads > heads || heads % kvHeads != 0)
            throw new ModelFormatException(binPath, $"header field n_kv_heads ({kvHeads}) must divide n_heads ({heads}).");
        bool sharedClassifier = signedVocab > 0;
        int vocab = Math.Abs(signedVocab);
        int headDim = dim / heads;
        long kvDim = (long)kvHeads * headDim;

        var config = new ModelConfig
        {
            Architecture = "llama",
            VocabSize = vocab,
            HiddenSize = dim,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            IntermediateSize = hiddenDim,
            MaxPositions = seqLen,
            NormEps = 1e-5f,
            RopeTheta = 10000f,
            Norm = NormKind.RmsNorm,
            Positions = PositionEncodingKind.Rotary,
            FeedForward = FeedForwardKind.SwiGlu,
            TiedEmbeddings = sharedClassifier,
            BosTokenId = vocab > 1 ? 1 : -1,
            EosTokenId = vocab > 2 ? 2 : -1,
        };
        config.Validate(binPath);

        // Header fields are attacker-controlled int32s: size the file in 128-bit arithmetic so no product can wrap.
        long d = dim, l = layers, h = hiddenDim, v = vocab;
        long freqFloats = 2L * seqLen * (headDim / 2);
        Int128 D = d, L = l, H = h, V = v, KV = kvDim;
        Int128 floats = (V * D) + (L * D) + (L * D * D) + (2 * L * D * KV) + (L * D * D) + (L * D)
            + (3 * L * H * D) + D + freqFloats + (sharedClassifier ? 0 : V * D);
        Int128 expectedBytes = HeaderBytes + (4 * floats);
        if (length != expectedBytes)
        {
            throw new ModelFormatException(binPath,
                $"file is {length} bytes but the header (dim {dim}, hidden_dim {hiddenDim}, n_layers {layers}, n_heads {heads}, n_kv_heads {kvHeads}, vocab_size {signedVocab}, seq_len {seqLen}) implies {expectedBytes} bytes"
                + (length < expectedBytes ? " (truncated)." : " (trailing data)."));
        }

        var builder = new CheckpointBuilder(config, binPath);
        long offset = HeaderBytes;
        long qRows = d, kvRows = kvDim;
        builder.Add(WeightNames.Embedding, [v, d], Next(v * d, "token_embedding_table"));
        PerLayer("rms_att_weight", [d], WeightNames.AttnNormWeight);
        PerLayer("wq", [qRows, d], WeightNames.Query, data => RopePermutation.InterleavedToRotateHalf(data, heads, headDim, dim));
        PerLayer("wk", [kvRows, d], WeightNames.Key, data => RopePermutation.InterleavedToRotateHalf(data, kvHeads, headDim, dim));
        PerLayer("wv", [kvRows, d], WeightNames.Value);
        PerLayer("wo", [d, qRows], WeightNames.Output);
        PerLayer("rms_ffn_weight", [d], WeightNames.MlpNormWeight);
        PerLayer("w1", [h, d], WeightNames.Gate);
        PerLayer("w2", [d, h], WeightNames.Down);
        PerLayer("w3", [h, d], WeightNames.Up);
        builder.Add(WeightNames.FinalNormWeight, [d], Next(d, "rms_final_weight"));
        offset += 4 * freqFloats;
        if (!sharedClassifier) builder.Add(WeightNames.LmHead, [v, d], Next(v * d, "wcls"));

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        string folder = Path.GetDirectoryName(Path.GetFullPath(binPath)) ?? ".";
        foreach (string candidate in new[] { $"tok{vocab}.bin", "tokenizer.bin" })
        {
            string tokenizerPath = Path.Combine(folder, candidate);
            if (File.Exists(tokenizerPath))
            {
                metadata[TokenizerPathKey] = tokenizerPath;
                break;
            }
        }
        return builder.Build(tokenizer: null, metadata);

        float[] Next(long count, string name)
        {
            float[] data = FileSlice.AllocateFloats(count, binPath, name);
            FileSlice.ReadFloat32(handle, offset, data, binPath, name);
            offset += 4 * count;
            return data;
        }

        void PerLayer(string name, long[] shape, Func<int, string> target, Func<float[], float[]>? transform = null)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            for (int layer = 0; layer < layers; layer++)
            {
                float[] data = Next(count, $"{name}[{layer}]");
                builder.Add(target(layer), shape, transform is null ? data : transform(data));
            }
        }

        void Positive(int value, string field)
        {
            if (value <= 0) throw new ModelFormatException(binPath, $"header field {field} is {value}; it must be positive.");
        }
    }

    private static int Field(ReadOnlySpan<byte> header, int index) => BinaryPrimitives.ReadInt32LittleEndian(header[(4 * index)..]);
}
