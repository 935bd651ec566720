using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Loads Karpathy's llama2.c checkpoints. The legacy layout (version 0, what run.c reads) is a 28-byte header of seven
/// int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size — negative when a separate classifier follows —,
/// seq_len) then float32 arrays. The newer exports start with the magic "ak42" and a 256-byte header: version 1 holds
/// float32 arrays (norms first), version 2 holds the norms in float32 and every matrix as int8 with one float32 scale per
/// group (Q8_0-like, group size in the header), which is dequantized on load. The file size must equal exactly what the
/// header implies. q/k rows are converted to rotate-half order.
/// </summary>
public static class Llama2cLoader
{
    /// <summary>Size of the legacy header.</summary>
    public const int HeaderBytes = 28;
    /// <summary>Size of the header of the "ak42" export versions 1 and 2.</summary>
    public const int ExportHeaderBytes = 256;
    /// <summary>The export magic, "ak42" as a little-endian u32.</summary>
    public const uint ExportMagic = 0x616B3432;
    /// <summary>Metadata key: the llama2.c tokenizer file found beside the checkpoint.</summary>
    public const string TokenizerPathKey = "tokenizer.path";

    private enum Encoding
    {
        Float32,
        GroupInt8,
        Skip,
    }

    private sealed record Piece(string Source, string? Target, long[] Shape, Encoding Encoding, Func<float[], float[]>? Transform = null)
    {
        public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    }

    private sealed record Header(int Version, int Dim, int Hidden, int Layers, int Heads, int KvHeads, int Vocab, int SeqLen, bool Shared, int GroupSize, long DataStart)
    {
        public int HeadDim => Dim / Heads;
        public long KvDim => (long)KvHeads * HeadDim;
    }

    /// <summary>Loads a .bin checkpoint.</summary>
    /// <param name="binPath">The checkpoint.</param>
    /// <exception cref="ModelFormatException">Missing, wrong size, or a header that describes no valid model.</exception>
    public static CheckpointData Load(string binPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(binPath);
        using SafeFileHandle handle = FileSlice.OpenRead(binPath);
        long length = RandomAccess.GetLength(handle);
        Header header = ReadHeader(handle, length, binPath);
        ModelConfig config = BuildConfig(header, binPath);

        Int128 expectedBytes = ExpectedBytes(header, binPath);
        if (length != expectedBytes)
        {
            throw new ModelFormatException(binPath,
                $"file is {length} bytes but the version-{header.Version} header (dim {header.Dim}, hidden_dim {header.Hidden}, n_layers {header.Layers}, n_heads {header.Heads}, "
                + $"n_kv_heads {header.KvHeads}, vocab_size {header.Vocab}, seq_len {header.SeqLen}, shared classifier {header.Shared}) implies {expectedBytes} bytes"
                + (length < expectedBytes ? " (truncated)." : " (trailing data)."));
        }

        var builder = new CheckpointBuilder(config, binPath);
        long offset = header.DataStart;
        foreach (Piece piece in Pieces(header))
        {
            long count = piece.Count;
            if (piece.Encoding == Encoding.Skip)
            {
                offset += 4 * count;
                continue;
            }
            float[] data = FileSlice.AllocateFloats(count, binPath, piece.Source);
            if (piece.Encoding == Encoding.Float32)
            {
                FileSlice.ReadFloat32(handle, offset, data, binPath, piece.Source);
                offset += 4 * count;
            }
            else
            {
                offset = ReadGroupInt8(handle, offset, data, header.GroupSize, binPath, piece.Source);
            }
            builder.Add(piece.Target!, piece.Shape, piece.Transform is null ? data : piece.Transform(data));
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["llama2c.version"] = header.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        string folder = Path.GetDirectoryName(Path.GetFullPath(binPath)) ?? ".";
        foreach (string candidate in new[] { $"tok{header.Vocab}.bin", "tokenizer.bin" })
        {
            string tokenizerPath = Path.Combine(folder, candidate);
            if (File.Exists(tokenizerPath))
            {
                metadata[TokenizerPathKey] = tokenizerPath;
                break;
            }
        }
        return builder.Build(tokenizer: null, metadata);
    }

    private static Header ReadHeader(SafeFileHandle handle, long length, string path)
    {
        if (length < HeaderBytes)
            throw new ModelFormatException(path, $"file is {length} bytes, too short for the {HeaderBytes}-byte llama2.c header.");
        Span<byte> bytes = stackalloc byte[ExportHeaderBytes];
        int available = (int)Math.Min(ExportHeaderBytes, length);
        FileSlice.ReadExactly(handle, 0, bytes[..available], path, "the header");

        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != ExportMagic)
        {
            int signedVocab = Field(bytes, 0, 5);
            if (signedVocab is 0 or int.MinValue)
                throw new ModelFormatException(path, $"header field vocab_size is {signedVocab}; it must be non-zero.");
            return new Header(0, Field(bytes, 0, 0), Field(bytes, 0, 1), Field(bytes, 0, 2), Field(bytes, 0, 3), Field(bytes, 0, 4),
                Math.Abs(signedVocab), Field(bytes, 0, 6), Shared: signedVocab > 0, GroupSize: 0, DataStart: HeaderBytes);
        }

        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        if (version is not (1 or 2))
            throw new ModelFormatException(path, $"llama2.c export version {version} (magic \"ak42\") is not supported; versions 0, 1 and 2 are.");
        if (length < ExportHeaderBytes)
            throw new ModelFormatException(path, $"file is {length} bytes, too short for the {ExportHeaderBytes}-byte header of llama2.c export version {version}.");
        int vocab = Field(bytes, 8, 5);
        if (vocab <= 0)
            throw new ModelFormatException(path, $"header field vocab_size is {vocab}; it must be positive.");
        byte shared = bytes[36];
        if (shared > 1)
            throw new ModelFormatException(path, $"header field shared_classifier is {shared}; it must be 0 or 1.");
        int groupSize = version == 2 ? BinaryPrimitives.ReadInt32LittleEndian(bytes[37..]) : 0;
        if (version == 2 && groupSize <= 0)
            throw new ModelFormatException(path, $"header field group_size is {groupSize}; it must be positive.");
        return new Header(version, Field(bytes, 8, 0), Field(bytes, 8, 1), Field(bytes, 8, 2), Field(bytes, 8, 3), Field(bytes, 8, 4),
            vocab, Field(bytes, 8, 6), Shared: shared == 1, groupSize, DataStart: ExportHeaderBytes);
    }

    private static ModelConfig BuildConfig(Header h, string path)
    {
        Positive(h.Dim, "dim");
        Positive(h.Hidden, "hidden_dim");
        Positive(h.Layers, "n_layers");
        Positive(h.Heads, "n_heads");
        Positive(h.KvHeads, "n_kv_heads");
        Positive(h.SeqLen, "seq_len");
        if (h.Dim % h.Heads != 0)
            throw new ModelFormatException(path, $"header field dim ({h.Dim}) is not a multiple of n_heads ({h.Heads}).");
        if (h.KvHeads > h.Heads || h.Heads % h.KvHeads != 0)
            throw new ModelFormatException(path, $"header field n_kv_heads ({h.KvHeads}) must divide n_heads ({h.Heads}).");
        var config = new ModelConfig
        {
            Architecture = "llama",
            VocabSize = h.Vocab,
            HiddenSize = h.Dim,
            NumLayers = h.Layers,
            NumHeads = h.Heads,
            NumKvHeads = h.KvHeads,
            HeadDim = h.HeadDim,
            IntermediateSize = h.Hidden,
            MaxPositions = h.SeqLen,
            NormEps = 1e-5f,
            RopeTheta = 10000f,
            Norm = NormKind.RmsNorm,
            Positions = PositionEncodingKind.Rotary,
            FeedForward = FeedForwardKind.SwiGlu,
            TiedEmbeddings = h.Shared,
            BosTokenId = h.Vocab > 1 ? 1 : -1,
            EosTokenId = h.Vocab > 2 ? 2 : -1,
        };
        config.Validate(path);
        return config;

        void Positive(int value, string field)
        {
            if (value <= 0) throw new ModelFormatException(path, $"header field {field} is {value}; it must be positive.");
        }
    }

    /// <summary>File size the header implies, in 128-bit arithmetic: header fields are untrusted int32s whose products can exceed 64 bits.</summary>
    private static Int128 ExpectedBytes(Header h, string path)
    {
        Int128 d = h.Dim, layers = h.Layers, hidden = h.Hidden, vocab = h.Vocab, kv = h.KvDim;
        Int128 norms = (2 * layers * d) + d;
        Int128 embedding = vocab * d, classifier = h.Shared ? 0 : vocab * d;
        Int128 perLayerMatrices = (2 * d * d) + (2 * d * kv) + (3 * hidden * d);
        Int128 matrices = embedding + (layers * perLayerMatrices) + classifier;
        switch (h.Version)
        {
            case 0:
                Int128 freq = 2 * (Int128)h.SeqLen * (h.HeadDim / 2);
                return HeaderBytes + (4 * (norms + matrices + freq));
            case 1:
                return ExportHeaderBytes + (4 * (norms + matrices));
            default:
                foreach ((string name, Int128 count) in new[] { ("token_embedding", embedding), ("wq", d * d), ("wk", d * kv), ("w1", hidden * d) })
                {
                    if (count % h.GroupSize != 0)
                        throw new ModelFormatException(path, $"tensor {name} has {count} values, not a multiple of the header's group_size {h.GroupSize}.");
                }
                return ExportHeaderBytes + (4 * norms) + matrices + (4 * (matrices / h.GroupSize));
        }
    }

    private static IEnumerable<Piece> Pieces(Header h)
    {
        long d = h.Dim, hidden = h.Hidden, vocab = h.Vocab, kv = h.KvDim;
        int heads = h.Heads, kvHeads = h.KvHeads, headDim = h.HeadDim, dim = h.Dim;
        Encoding matrix = h.Version == 2 ? Encoding.GroupInt8 : Encoding.Float32;
        Func<float[], float[]> permuteQ = w => RopePermutation.InterleavedToRotateHalf(w, heads, headDim, dim);
        Func<float[], float[]> permuteK = w => RopePermutation.InterleavedToRotateHalf(w, kvHeads, headDim, dim);

        Piece embedding = new("token_embedding_table", WeightNames.Embedding, [vocab, d], matrix);
        IEnumerable<Piece> attentionNorms = PerLayer("rms_att_weight", WeightNames.AttnNormWeight, [d], Encoding.Float32);
        IEnumerable<Piece> mlpNorms = PerLayer("rms_ffn_weight", WeightNames.MlpNormWeight, [d], Encoding.Float32);
        Piece finalNorm = new("rms_final_weight", WeightNames.FinalNormWeight, [d], Encoding.Float32);
        IEnumerable<Piece> attention = PerLayer("wq", WeightNames.Query, [d, d], matrix, permuteQ)
            .Concat(PerLayer("wk", WeightNames.Key, [kv, d], matrix, permuteK))
            .Concat(PerLayer("wv", WeightNames.Value, [kv, d], matrix))
            .Concat(PerLayer("wo", WeightNames.Output, [d, d], matrix));
        IEnumerable<Piece> mlp = PerLayer("w1", WeightNames.Gate, [hidden, d], matrix)
            .Concat(PerLayer("w2", WeightNames.Down, [d, hidden], matrix))
            .Concat(PerLayer("w3", WeightNames.Up, [hidden, d], matrix));
        IEnumerable<Piece> classifier = h.Shared ? [] : [new Piece("wcls", WeightNames.LmHead, [vocab, d], matrix)];

        IEnumerable<Piece> order = h.Version == 0
            ? [embedding, .. attentionNorms, .. attention, .. mlpNorms, .. mlp, finalNorm,
                new Piece("freq_cis", null, [2L * h.SeqLen * (headDim / 2)], Encoding.Skip), .. classifier]
            : [.. attentionNorms, .. mlpNorms, finalNorm, embedding, .. attention, .. mlp, .. classifier];
        return order;

        IEnumerable<Piece> PerLayer(string source, Func<int, string> target, long[] shape, Encoding encoding, Func<float[], float[]>? transform = null)
        {
            for (int layer = 0; layer < h.Layers; layer++)
                yield return new Piece($"{source}[{layer}]", target(layer), shape, encoding, transform);
        }
    }

    /// <summary>Reads <c>n</c> int8 then <c>n / groupSize</c> float32 scales; returns the offset after them.</summary>
    private static long ReadGroupInt8(SafeFileHandle handle, long offset, float[] destination, int groupSize, string path, string tensor)
    {
        int count = destination.Length;
        var quantized = new byte[count];
        FileSlice.ReadExactly(handle, offset, quantized, path, $"tensor '{tensor}'");
        var scales = new float[count / groupSize];
        FileSlice.ReadFloat32(handle, offset + count, scales, path, tensor);
        for (int i = 0; i < count; i++) destination[i] = (sbyte)quantized[i] * scales[i / groupSize];
        return offset + count + (4L * scales.Length);
    }

    private static int Field(ReadOnlySpan<byte> header, int start, int index) => BinaryPrimitives.ReadInt32LittleEndian(header[(start + (4 * index))..]);
}
