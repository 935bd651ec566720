using System.Text.Json;
using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Loads a Hugging Face model folder (config.json + model.safetensors or a sharded index) of GPT-2 or one of the
/// Llama-shaped families in <see cref="DecoderFamilies"/> into canonical tensors. Tokenizer files are not parsed here; their paths are
/// recorded in <see cref="CheckpointData.Metadata"/> under <see cref="TokenizerJsonPathKey"/> and friends.
/// </summary>
public static partial class HuggingFaceLoader
{
    /// <summary>The config file every Hugging Face folder holds.</summary>
    public const string ConfigFileName = "config.json";
    /// <summary>Largest config.json / tokenizer_config.json accepted.</summary>
    public const long MaxConfigBytes = 16 * 1024 * 1024;
    /// <summary>Metadata key: path of tokenizer.json, when present.</summary>
    public const string TokenizerJsonPathKey = "tokenizer.json.path";
    /// <summary>Metadata key: path of tokenizer.model (SentencePiece), when present.</summary>
    public const string TokenizerModelPathKey = "tokenizer.model.path";
    /// <summary>Metadata key: path of vocab.json (GPT-2 BPE), when present.</summary>
    public const string VocabJsonPathKey = "vocab.json.path";
    /// <summary>Metadata key: path of merges.txt (GPT-2 BPE), when present.</summary>
    public const string MergesTxtPathKey = "merges.txt.path";
    /// <summary>Metadata key: the chat template (Jinja source) from tokenizer_config.json or chat_template.jinja.</summary>
    public const string ChatTemplateKey = "tokenizer.chat_template";
    /// <summary>Metadata key: the config's model_type.</summary>
    public const string ModelTypeKey = "model_type";


    /// <summary>Loads the folder.</summary>
    /// <param name="folder">A folder with config.json and safetensors weights.</param>
    /// <exception cref="ModelFormatException">Missing files, unsupported model type, or tensors that do not match the config.</exception>
    public static CheckpointData Load(string folder) => Load(folder, keepHalfPrecision: false);

    /// <summary>Loads the folder; with <paramref name="keepHalfPrecision"/>, the projection and embedding matrices of the
    /// Llama-shaped families stored as F16/BF16 stay 16-bit (as <see cref="HostTensor.Packed"/>) instead of float32.</summary>
    /// <exception cref="ModelFormatException">Missing files, unsupported model type, or tensors that do not match the config.</exception>
    public static CheckpointData Load(string folder, bool keepHalfPrecision)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new ModelFormatException(folder, "model folder not found.", new DirectoryNotFoundException(folder));
        string configPath = Path.Combine(folder, ConfigFileName);
        if (!File.Exists(configPath))
            throw new ModelFormatException(configPath, "config.json not found in the model folder.", new FileNotFoundException(null, configPath));

        (ModelConfig config, string modelType, ConfigExtras extras) = ReadConfig(configPath);
        var metadata = FindTokenizerFiles(folder);
        metadata[ModelTypeKey] = modelType;
        if (config.SlidingWindow > 0) metadata["sliding_window"] = config.SlidingWindow.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using SafetensorsCheckpoint checkpoint = SafetensorsReader.OpenCheckpoint(folder);
        return modelType == "gpt2"
            ? LoadGpt2(checkpoint, config, folder, metadata)
            : LoadDecoder(checkpoint, config, extras, DecoderFamilies[modelType], folder, metadata, keepHalfPrecision);
    }

    /// <summary>Reads and validates config.json alone (no weights).</summary>
    /// <param name="configPathOrFolder">Path of config.json, or the folder holding it.</param>
    /// <param name="modelType">The config's model_type.</param>
    public static ModelConfig ReadConfig(string configPathOrFolder, out string modelType)
    {
        ArgumentException.ThrowIfNullOrEmpty(configPathOrFolder);
        string path = Directory.Exists(configPathOrFolder) ? Path.Combine(configPathOrFolder, ConfigFileName) : configPathOrFolder;
        (ModelConfig config, modelType, _) = ReadConfig(path);
        return config;
    }

    private sealed record ConfigExtras(bool? TieWordEmbeddings, bool? AttentionBias, bool? MlpBias);

    private static (ModelConfig, string, ConfigExtras) ReadConfig(string configPath)
    {
        byte[] bytes = SafetensorsReader.ReadSmallFile(configPath, MaxConfigBytes);
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(configPath, $"config is a JSON {document.RootElement.ValueKind}, not an object.");
            var reader = new JsonConfigReader(configPath, document.RootElement);
            string modelType = reader.OptionalString("model_type") ?? throw reader.Missing("model_type");
            (ModelConfig config, ConfigExtras extras) = modelType switch
            {
                "gpt2" => ParseGpt2(reader),
                _ when DecoderFamilies.TryGetValue(modelType, out HuggingFaceDecoderFamily? family) => ParseDecoder(reader, family),
                _ => throw new ModelFormatException(configPath, $"config field 'model_type' is '{modelType}', which is not supported (supported: gpt2, {string.Join(", ", DecoderFamilies.Keys)})."),
            };
            config.Validate(configPath);
            return (config, modelType, extras);
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException(configPath, $"not valid JSON: {ex.Message}", ex);
        }
    }

    private static (ModelConfig, ConfigExtras) ParseGpt2(JsonConfigReader reader)
    {
        int hidden = reader.RequireInt("n_embd");
        int heads = reader.RequireInt("n_head");
        if (heads <= 0 || hidden <= 0 || hidden % heads != 0)
            throw reader.Invalid("n_embd", $"({hidden}) must be a positive multiple of n_head ({heads}).");
        string activation = reader.OptionalString("activation_function") ?? "gelu_new";
        if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw reader.Invalid("activation_function", $"is '{activation}'; only the tanh GELU (gelu_new, gelu_pytorch_tanh) is supported.");
        bool? tie = reader.OptionalBool("tie_word_embeddings");
        long inner = reader.OptionalInt("n_inner") ?? 4L * hidden;
        if (inner > int.MaxValue) throw reader.Invalid("n_embd", $"({hidden}) is too large: the implied MLP width 4·n_embd overflows.");
        var config = new ModelConfig
        {
            Architecture = "gpt2",
            VocabSize = reader.RequireInt("vocab_size"),
            HiddenSize = hidden,
            NumLayers = reader.RequireInt("n_layer"),
            NumHeads = heads,
            NumKvHeads = heads,
            HeadDim = hidden / heads,
            IntermediateSize = (int)inner,
            MaxPositions = reader.OptionalInt("n_positions") ?? reader.OptionalInt("n_ctx") ?? throw reader.Missing("n_positions"),
            NormEps = reader.OptionalFloat("layer_norm_epsilon") ?? 1e-5f,
            Norm = NormKind.LayerNorm,
            Positions = PositionEncodingKind.Learned,
            FeedForward = FeedForwardKind.GeluTanh,
            AttentionBias = true,
            MlpBias = true,
            TiedEmbeddings = tie ?? true,
            BosTokenId = reader.OptionalTokenId("bos_token_id") ?? -1,
            EosTokenId = reader.OptionalTokenId("eos_token_id") ?? -1,
        };
        return (config, new ConfigExtras(tie, true, true));
    }

    private static CheckpointData LoadGpt2(SafetensorsCheckpoint checkpoint, ModelConfig config, string folder, Dictionary<string, string> metadata)
    {
        string prefix = checkpoint.Contains("transformer.wte.weight") ? "transformer." : "";
        bool tied = config.TiedEmbeddings || !checkpoint.Contains("lm_head.weight");
        config = config with { TiedEmbeddings = tied };
        var builder = new CheckpointBuilder(config, folder);
        long d = config.HiddenSize, inner = config.IntermediateSize;

        builder.Add(WeightNames.Embedding, [config.VocabSize, d], Read(checkpoint, prefix + "wte.weight", [config.VocabSize, d]));
        builder.Add(WeightNames.PositionEmbedding, [config.MaxPositions, d], Read(checkpoint, prefix + "wpe.weight", [config.MaxPositions, d]));
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            string p = $"{prefix}h.{layer}.";
            AddNorm(builder, checkpoint, p + "ln_1", WeightNames.AttnNormWeight(layer), WeightNames.AttnNormBias(layer), d);

            float[] qkv = Transpose(Read(checkpoint, p + "attn.c_attn.weight", [d, 3 * d]), (int)d, (int)(3 * d));
            float[] qkvBias = Read(checkpoint, p + "attn.c_attn.bias", [3 * d]);
            string[] targets = [WeightNames.Query(layer), WeightNames.Key(layer), WeightNames.Value(layer)];
            for (int part = 0; part < 3; part++)
            {
                builder.Add(targets[part], [d, d], qkv.AsSpan((int)(part * d * d), (int)(d * d)).ToArray());
                builder.Add(WeightNames.BiasOf(targets[part]), [d], qkvBias.AsSpan((int)(part * d), (int)d).ToArray());
            }
            AddConv1D(builder, checkpoint, p + "attn.c_proj", WeightNames.Output(layer), d, d);
            AddNorm(builder, checkpoint, p + "ln_2", WeightNames.MlpNormWeight(layer), WeightNames.MlpNormBias(layer), d);
            AddConv1D(builder, checkpoint, p + "mlp.c_fc", WeightNames.Up(layer), d, inner);
            AddConv1D(builder, checkpoint, p + "mlp.c_proj", WeightNames.Down(layer), inner, d);
        }
        AddNorm(builder, checkpoint, prefix + "ln_f", WeightNames.FinalNormWeight, WeightNames.FinalNormBias, d);
        if (!tied) builder.Add(WeightNames.LmHead, [config.VocabSize, d], Read(checkpoint, "lm_head.weight", [config.VocabSize, d]));
        return builder.Build(tokenizer: null, metadata);

        static void AddNorm(CheckpointBuilder builder, SafetensorsCheckpoint checkpoint, string source, string weight, string bias, long d)
        {
            builder.Add(weight, [d], Read(checkpoint, source + ".weight", [d]));
            builder.Add(bias, [d], Read(checkpoint, source + ".bias", [d]));
        }

        static void AddConv1D(CheckpointBuilder builder, SafetensorsCheckpoint checkpoint, string source, string target, long inputs, long outputs)
        {
            float[] weight = Read(checkpoint, source + ".weight", [inputs, outputs]);
            builder.Add(target, [outputs, inputs], Transpose(weight, (int)inputs, (int)outputs));
            builder.Add(WeightNames.BiasOf(target), [outputs], Read(checkpoint, source + ".bias", [outputs]));
        }
    }

    private static float[] Read(SafetensorsCheckpoint checkpoint, string name, long[] expectedShape)
    {
        if (!checkpoint.Contains(name))
            throw new ModelFormatException(checkpoint.Source, $"missing tensor '{name}'.");
        CheckpointBuilder.ExpectShape(checkpoint.FileOf(name), name, expectedShape, checkpoint.GetInfo(name).Shape);
        return checkpoint.ReadFloat32(name);
    }

    /// <summary>Row-major [rows, columns] to [columns, rows].</summary>
    internal static float[] Transpose(float[] source, int rows, int columns)
    {
        var result = new float[source.Length];
        for (int r = 0; r < rows; r++)
        {
            int rowBase = r * columns;
            for (int c = 0; c < columns; c++) result[(c * rows) + r] = source[rowBase + c];
        }
        return result;
    }

    private static Dictionary<string, string> FindTokenizerFiles(string folder)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        AddIfExists("tokenizer.json", TokenizerJsonPathKey);
        AddIfExists("tokenizer.model", TokenizerModelPathKey);
        AddIfExists("vocab.json", VocabJsonPathKey);
        AddIfExists("merges.txt", MergesTxtPathKey);

        string? template = null;
        string tokenizerConfig = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig)) template = ReadChatTemplate(tokenizerConfig);
        string jinja = Path.Combine(folder, "chat_template.jinja");
        if (template is null && File.Exists(jinja))
            template = System.Text.Encoding.UTF8.GetString(SafetensorsReader.ReadSmallFile(jinja, MaxConfigBytes));
        if (template is not null) metadata[ChatTemplateKey] = template;
        return metadata;

        void AddIfExists(string fileName, string key)
        {
            string path = Path.Combine(folder, fileName);
            if (File.Exists(path)) metadata[key] = Path.GetFullPath(path);
        }
    }

    private static string? ReadChatTemplate(string tokenizerConfig)
    {
        byte[] bytes = SafetensorsReader.ReadSmallFile(tokenizerConfig, MaxConfigBytes);
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("chat_template", out JsonElement template))
            {
                return null;
            }
            if (template.ValueKind == JsonValueKind.String) return template.GetString();
            if (template.ValueKind == JsonValueKind.Array)
            {
                // Older tokenizers list named templates; the one named "default" is what apply_chat_template uses.
                foreach (JsonElement entry in template.EnumerateArray())
                {
                    if (entry.ValueKind == JsonValueKind.Object
                        && entry.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String && name.GetString() == "default"
                        && entry.TryGetProperty("template", out JsonElement text) && text.ValueKind == JsonValueKind.String)
                    {
                        return text.GetString();
                    }
                }
            }
            return null;
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException(tokenizerConfig, $"not valid JSON: {ex.Message}", ex);
        }
    }
}
