using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using QuickSilver.Engine.Loading;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Loading;

/// <summary>
/// Corrupts valid files at random (byte writes, truncation, inflated lengths and counts, extension) and checks that
/// every parser either loads or throws <see cref="ModelFormatException"/> — never IndexOutOfRange, Overflow,
/// OutOfMemory, Argument or any other exception.
/// </summary>
public sealed class LoaderFuzzTests
{
    private const int Iterations = 300;

    /// <summary>One corruption: Kind 0 byte write, 1 truncation, 2 u64 write (lengths/counts), 3 small u32 write (types/dims), 4 append.</summary>
    public sealed record Mutation(int Kind, int Position, ulong Value)
    {
        public override string ToString() => $"{Kind}@{Position}:{Value}";
    }

    private static Gen<Mutation[]> Mutations(int length, int hotLength) =>
        Gen.Select(
            Gen.Int[0, 4],
            Gen.Frequency((4, Gen.Int[0, Math.Max(0, hotLength - 1)]), (1, Gen.Int[0, length - 1])),
            Gen.ULong,
            (kind, position, value) => new Mutation(kind, position, value)).Array[1, 4];

    private static byte[] Apply(byte[] original, Mutation[] mutations)
    {
        var bytes = new List<byte>(original);
        foreach (Mutation m in mutations)
        {
            if (bytes.Count == 0) break;
            int p = Math.Min(m.Position, bytes.Count - 1);
            switch (m.Kind)
            {
                case 0:
                    bytes[p] = (byte)m.Value;
                    break;
                case 1:
                    bytes.RemoveRange(p, bytes.Count - p);
                    break;
                case 2:
                    ulong big = (m.Value % 5) switch
                    {
                        0 => m.Value,
                        1 => 1UL << (int)(m.Value % 64),
                        2 => (ulong)original.Length + (m.Value % 64),
                        3 => ulong.MaxValue - (m.Value % 16),
                        _ => m.Value % 1024,
                    };
                    Write(bytes, p, BitConverter.GetBytes(big));
                    break;
                case 3:
                    Write(bytes, p, BitConverter.GetBytes((uint)(m.Value % 40)));
                    break;
                default:
                    bytes.AddRange(BitConverter.GetBytes(m.Value));
                    break;
            }
        }
        return [.. bytes];
    }

    private static void Write(List<byte> bytes, int position, byte[] value)
    {
        for (int i = 0; i < value.Length && position + i < bytes.Count; i++) bytes[position + i] = value[i];
    }

    private static void LoadOrModelFormatException(Action load)
    {
        try
        {
            load();
        }
        catch (ModelFormatException)
        {
            // The one acceptable failure.
        }
    }

    [Fact]
    public void Safetensors_CorruptedFiles_OnlyThrowModelFormatException()
    {
        using var temp = new TempDirectory();
        byte[] valid = SafetensorsTestWriter.Build(
            [
                SafetensorsTestWriter.F32("a.weight", [4, 8], TestData.Random(32, 1)),
                SafetensorsTestWriter.F16("b.weight", [8], TestData.Random(8, 2)),
                SafetensorsTestWriter.BF16("c", [2, 3], TestData.Random(6, 3)),
                new SafetensorsTestWriter.Entry("ids", "I64", [2], new byte[16]),
                SafetensorsTestWriter.F32("empty", [0, 3], []),
            ],
            new Dictionary<string, string> { ["format"] = "pt" });
        int headerEnd = 8 + (int)BitConverter.ToUInt64(valid, 0);
        string path = temp.File("fuzz.safetensors");
        File.WriteAllBytes(path, valid);
        using (SafetensorsFile baseline = SafetensorsReader.Open(path)) Assert.Equal(5, baseline.Tensors.Count);

        Mutations(valid.Length, headerEnd).Sample(mutations =>
        {
            File.WriteAllBytes(path, Apply(valid, mutations));
            LoadOrModelFormatException(() =>
            {
                using SafetensorsFile file = SafetensorsReader.Open(path);
                foreach (string name in file.Tensors.Keys) LoadOrModelFormatException(() => file.ReadFloat32(name));
            });
        }, iter: Iterations, threads: 1, print: m => string.Join(" ", m.Select(x => x.ToString())));
    }

    [Fact]
    public void Safetensors_CorruptedHeaderText_OnlyThrowsModelFormatException()
    {
        using var temp = new TempDirectory();
        const string header = """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[4],"data_offsets":[16,24]}}""";
        string[] replacements = ["-1", "1e400", "18446744073709551616", "null", "[]", "{}", "\"F64\"", "\"x\"", "[0,0]", "[16,0]", "\"\\ud800\"", "9223372036854775807", "", "}", "[[1]]", "0.5"];
        string path = temp.File("fuzz.safetensors");
        File.WriteAllBytes(path, SafetensorsTestWriter.Assemble(header, new byte[24]));
        using (SafetensorsFile baseline = SafetensorsReader.Open(path)) Assert.Equal(4, baseline.ReadFloat32("b").Length);
        Gen.Select(Gen.Int[0, header.Length - 1], Gen.Int[0, 12], Gen.Int[0, replacements.Length - 1]).Array[1, 3].Sample(edits =>
        {
            string text = header;
            foreach ((int at, int length, int which) in edits)
            {
                int start = Math.Min(at, text.Length);
                text = text[..start] + replacements[which] + text[Math.Min(text.Length, start + length)..];
            }
            File.WriteAllBytes(path, SafetensorsTestWriter.Assemble(text, new byte[24]));
            LoadOrModelFormatException(() =>
            {
                using SafetensorsFile file = SafetensorsReader.Open(path);
                foreach (string name in file.Tensors.Keys) LoadOrModelFormatException(() => file.ReadFloat32(name));
            });
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void Gguf_CorruptedFiles_OnlyThrowModelFormatException() => GgufFuzz(seed: null);

    /// <summary>
    /// A seed that once found a DivideByZeroException: a mutation set a tensor's innermost dimension to 0, and the row reader
    /// divided by the row width (fixed: a zero-width tensor reads as empty, or is refused naming it).
    /// </summary>
    [Fact]
    public void Gguf_ZeroWidthTensor_Seed_OnlyThrowsModelFormatException() => GgufFuzz(seed: "6_Jn05p38BX1");

    private static void GgufFuzz(string? seed)
    {
        using var temp = new TempDirectory();
        string validPath = temp.File("valid.gguf");
        TinyLlama.Create().GgufWriter(GgufTensorType.Q8_0).AddTensor("extra.q4", [2, 32], TestData.Random(64, 9), GgufTensorType.Q4_0).Write(validPath);
        byte[] valid = File.ReadAllBytes(validPath);
        int headerEnd = (int)GgufFile.Read(validPath).DataOffset;
        Assert.Equal(2, GgufLoader.Load(validPath).Config.NumLayers);
        string path = temp.File("fuzz.gguf");

        Mutations(valid.Length, headerEnd).Sample(mutations =>
        {
            File.WriteAllBytes(path, Apply(valid, mutations));
            LoadOrModelFormatException(() => GgufLoader.Load(path));
            LoadOrModelFormatException(() =>
            {
                GgufFile file = GgufFile.Read(path);
                foreach (GgufTensorInfo tensor in file.Tensors) LoadOrModelFormatException(() => file.ReadTensorData(tensor));
            });
        }, seed: seed, iter: Iterations, threads: 1, print: m => string.Join(" ", m.Select(x => x.ToString())));
    }

    [Fact]
    public void Llama2c_CorruptedFiles_OnlyThrowModelFormatException()
    {
        using var temp = new TempDirectory();
        TinyLlama model = TinyLlama.Create();
        byte[][] bases = [model.Llama2cBytes(), model.Llama2cExportBytes(1, separateClassifier: true), model.Llama2cExportBytes(2, groupSize: 16)];
        int[] fieldOffsets = [0, 8, 8];
        string path = temp.File("fuzz.bin");
        foreach (byte[] baseline in bases)
        {
            File.WriteAllBytes(path, baseline);
            Assert.Equal(model.Dim, Llama2cLoader.Load(path).Config.HiddenSize);
        }
        Gen<Mutation[]> headerEdits = Gen.Select(Gen.Int[0, 8], Gen.Int, (field, value) => new Mutation(5, field, (ulong)(uint)value)).Array[1, 3];
        Gen.Select(Gen.Int[0, 2], Mutations(bases[0].Length, Llama2cLoader.ExportHeaderBytes), headerEdits).Sample((which, mutations, fields) =>
        {
            byte[] bytes = Apply(bases[which], mutations);
            foreach (Mutation field in fields)
            {
                // Fields 0..6 are the seven ints; 7 lands on the shared/group bytes of an export header.
                int at = fieldOffsets[which] + (4 * field.Position) + (field.Position == 8 ? 1 : 0);
                if (bytes.Length >= at + 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)field.Value);
            }
            File.WriteAllBytes(path, bytes);
            LoadOrModelFormatException(() => Llama2cLoader.Load(path));
        }, iter: Iterations, threads: 1);
    }

    private static string CopyConfig(string folder)
    {
        File.Copy(Path.Combine(SharedAssets.Gpt2TinyRandomHf, "config.json"), Path.Combine(folder, "config.json"), overwrite: true);
        return folder;
    }

    [Fact]
    public void ConfigJson_CorruptedFields_OnlyThrowModelFormatException()
    {
        using var temp = new TempDirectory();
        string gpt2 = temp.SubDirectory("gpt2");
        File.Copy(Path.Combine(SharedAssets.Gpt2TinyRandomHf, "model.safetensors"), Path.Combine(gpt2, "model.safetensors"));
        string llama = TinyLlama.Create().WriteHfFolder(temp.SubDirectory("llama"), withHead: false);
        JsonObject gpt2Config = JsonNode.Parse(File.ReadAllText(Path.Combine(SharedAssets.Gpt2TinyRandomHf, "config.json")))!.AsObject();
        JsonObject llamaConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(llama, "config.json")))!.AsObject();
        Assert.Equal("gpt2", HuggingFaceLoader.Load(CopyConfig(gpt2)).Config.Architecture);
        Assert.Equal("llama", HuggingFaceLoader.Load(llama).Config.Architecture);
        string[] keys = [.. gpt2Config.Select(p => p.Key), .. llamaConfig.Select(p => p.Key), "head_dim", "attention_bias", "mlp_bias", "rope_scaling", "sliding_window", "use_sliding_window"];
        string[] values =
        [
            "null", "0", "-1", "1", "2", "3", "4", "8", "16", "32", "64", "65", "128", "1e30", "-1e30", "1e-400", "1e400", "2147483647", "2147483648",
            "-2147483649", "9223372036854775807", "1.5", "\"gelu_new\"", "\"silu\"", "\"llama\"", "\"gpt2\"", "\"qwen2\"", "\"mistral\"", "\"phi\"",
            "true", "false", "[]", "[1,2]", "[\"a\"]", "{}", "{\"rope_type\":\"linear\"}", "{\"type\":\"default\"}", "\"\"", "[[1]]",
        ];
        Gen.Select(Gen.Bool, Gen.Select(Gen.Int[0, keys.Length - 1], Gen.Int[0, values.Length]).Array[1, 4], Gen.Int[0, 20]).Sample((useGpt2, edits, cut) =>
        {
            JsonObject config = (JsonObject)(useGpt2 ? gpt2Config : llamaConfig).DeepClone();
            foreach ((int key, int value) in edits)
            {
                if (value == values.Length) config.Remove(keys[key]);
                else config[keys[key]] = JsonNode.Parse(values[value]);
            }
            string text = config.ToJsonString();
            if (cut == 0) text = text[..(text.Length / 2)]; // sometimes not even JSON
            string folder = useGpt2 ? gpt2 : llama;
            File.WriteAllText(Path.Combine(folder, "config.json"), text, Encoding.UTF8);
            LoadOrModelFormatException(() => HuggingFaceLoader.Load(folder));
        }, iter: Iterations, threads: 1);
    }
}
