using System.Buffers.Binary;
using System.Text;
using QuickSilver.Engine.Loading;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Loading;

public sealed class GgufTests
{
    private static float[] BlockValues(int blocks, int seed)
    {
        // Each block gets its own magnitude so the per-block scale matters.
        float[] values = TestData.Random(blocks * 32, seed);
        for (int b = 0; b < blocks; b++)
        {
            float scale = MathF.Pow(10, (b % 5) - 2);
            for (int i = 0; i < 32; i++) values[(b * 32) + i] *= scale;
        }
        return values;
    }

    private static (GgufFile File, byte[] Raw) WriteOne(TempDirectory temp, float[] values, long[] shape, GgufTensorType type)
    {
        string path = temp.File($"{type}.gguf");
        new GgufWriter().AddMetadata("general.architecture", "test").AddTensor("t", shape, values, type).Write(path);
        GgufFile file = GgufFile.Read(path);
        GgufTensorInfo info = file.Tensors.Single();
        byte[] all = File.ReadAllBytes(path);
        return (file, all.AsSpan((int)(file.DataOffset + info.Offset), (int)info.ByteSize!.Value).ToArray());
    }

    [Fact]
    public void F32_AndF16_RoundTrip()
    {
        using var temp = new TempDirectory();
        float[] values = BlockValues(8, 1);
        (GgufFile f32, _) = WriteOne(temp, values, [8, 32], GgufTensorType.F32);
        HostTensor t = f32.ReadTensor("t");
        Assert.Equal(new long[] { 8, 32 }, t.Shape);
        Assert.Equal(new long[] { 32, 8 }, f32.Tensors[0].Dimensions);
        Assert.Equal(values, t.Data);

        (GgufFile f16, _) = WriteOne(temp, values, [8, 32], GgufTensorType.F16);
        Assert.Equal(values.Select(v => (float)(Half)v).ToArray(), f16.ReadTensor("t").Data);
    }

    [Fact]
    public void Q8_0_RoundTripsWithinHalfAStepOfTheStoredScale()
    {
        using var temp = new TempDirectory();
        float[] values = BlockValues(40, 2);
        (GgufFile file, byte[] raw) = WriteOne(temp, values, [10, 128], GgufTensorType.Q8_0);
        Assert.Equal(40 * 34, raw.Length);
        float[] decoded = file.ReadTensor("t").Data;
        for (int b = 0; b < 40; b++)
        {
            float d = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(b * 34)));
            for (int i = 0; i < 32; i++)
            {
                int k = (b * 32) + i;
                Assert.Equal((sbyte)raw[(b * 34) + 2 + i] * d, decoded[k]);
                Assert.True(Math.Abs(decoded[k] - values[k]) <= (Math.Abs(d) / 2) * (1 + 1e-5f), $"block {b} [{i}]: {values[k]} -> {decoded[k]} (d {d})");
            }
        }
    }

    [Fact]
    public void Q4_0_RoundTripsWithinHalfAStep_ExceptTheClippedTopCode()
    {
        using var temp = new TempDirectory();
        float[] values = BlockValues(40, 3);
        values[5] = 0; // keep an exact zero inside a block
        Array.Clear(values, 64, 32); // and an all-zero block
        (GgufFile file, byte[] raw) = WriteOne(temp, values, [10, 128], GgufTensorType.Q4_0);
        Assert.Equal(40 * 18, raw.Length);
        float[] decoded = file.ReadTensor("t").Data;
        int clipped = 0;
        for (int b = 0; b < 40; b++)
        {
            float d = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(b * 18)));
            for (int i = 0; i < 32; i++)
            {
                int k = (b * 32) + i;
                float error = Math.Abs(decoded[k] - values[k]);
                bool clips = d != 0 && values[k] / d > 7.5f;
                clipped += clips ? 1 : 0;
                float bound = (clips ? Math.Abs(d) : Math.Abs(d) / 2) * (1 + 1e-5f);
                Assert.True(error <= bound, $"block {b} [{i}]: {values[k]} -> {decoded[k]} (d {d})");
            }
        }
        Assert.All(decoded.AsSpan(64, 32).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(0f, decoded[5]);
        Assert.True(clipped < 40 * 32 / 10);
    }

    [Fact]
    public void HandBuiltQ4_0AndQ8_0Blocks_DecodeToHandComputedValues()
    {
        using var temp = new TempDirectory();
        var q4 = new byte[18];
        BinaryPrimitives.WriteUInt16LittleEndian(q4, 0x3800); // d = 0.5
        for (int j = 0; j < 16; j++) q4[2 + j] = (byte)(j | ((15 - j) << 4));
        var q8 = new byte[34];
        BinaryPrimitives.WriteUInt16LittleEndian(q8, 0xB400); // d = -0.25
        for (int i = 0; i < 32; i++) q8[2 + i] = (byte)(sbyte)(i - 16);
        var data = new byte[66];
        q4.CopyTo(data, 0);
        q8.CopyTo(data, 32);
        string path = temp.File("hand.gguf");
        File.WriteAllBytes(path, new RawGguf().Tensor("q4", [32], 2, 0).Tensor("q8", [32], 8, 32).Build(data));

        GgufFile file = GgufFile.Read(path);
        float[] expected4 = new float[32];
        for (int j = 0; j < 16; j++)
        {
            expected4[j] = (j - 8) * 0.5f;       // low nibble j
            expected4[16 + j] = (7 - j) * 0.5f;  // high nibble 15 - j, minus 8
        }
        Assert.Equal(expected4, file.ReadTensor("q4").Data);
        Assert.Equal(-4f, file.ReadTensor("q4").Data[0]);
        Assert.Equal(3.5f, file.ReadTensor("q4").Data[16]);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (i - 16) * -0.25f).ToArray(), file.ReadTensor("q8").Data);
    }

    [Fact]
    public void Metadata_RoundTripsEveryValueType_AndAlignmentIsHonoured()
    {
        using var temp = new TempDirectory();
        string path = temp.File("meta.gguf");
        new GgufWriter(alignment: 64)
            .AddMetadata("u8", (byte)200).AddMetadata("i8", (sbyte)-5).AddMetadata("u16", (ushort)60000).AddMetadata("i16", (short)-300)
            .AddMetadata("u32", 4000000000u).AddMetadata("i32", -7).AddMetadata("f32", 1.5f).AddMetadata("bool", true)
            .AddMetadata("str", "héllo ▁ world").AddMetadata("u64", ulong.MaxValue).AddMetadata("i64", long.MinValue).AddMetadata("f64", Math.PI)
            .AddMetadata("strings", new[] { "a", "", "▁b" }).AddMetadata("floats", new[] { 1f, -2f }).AddMetadata("ints", new[] { 3, 4 })
            .AddMetadata("bools", new[] { true, false })
            .AddTensor("a", [3], [1f, 2f, 3f]).AddTensor("b", [2, 32], BlockValues(2, 4), GgufTensorType.Q8_0)
            .Write(path);

        GgufFile file = GgufFile.Read(path);
        Assert.Equal(64, file.Alignment);
        Assert.Equal(64u, file.GetUInt32(GgufReader.AlignmentKey));
        Assert.Equal(0, file.DataOffset % 64);
        Assert.All(file.Tensors, t => Assert.Equal(0, t.Offset % 64));
        Assert.Equal((byte)200, file.Metadata["u8"]);
        Assert.Equal((sbyte)-5, file.Metadata["i8"]);
        Assert.Equal((ushort)60000, file.Metadata["u16"]);
        Assert.Equal((short)-300, file.Metadata["i16"]);
        Assert.Equal(4000000000u, file.GetUInt32("u32"));
        Assert.Equal(-7, file.Metadata["i32"]);
        Assert.Equal(1.5f, file.GetFloat32("f32"));
        Assert.Equal(true, file.Metadata["bool"]);
        Assert.Equal("héllo ▁ world", file.GetString("str"));
        Assert.Equal(ulong.MaxValue, file.Metadata["u64"]);
        Assert.Equal(long.MinValue, file.Metadata["i64"]);
        Assert.Equal(Math.PI, file.Metadata["f64"]);
        Assert.Equal(["a", "", "▁b"], file.GetArray<string>("strings"));
        Assert.Equal([1f, -2f], file.GetArray<float>("floats"));
        Assert.Equal([3, 4], file.GetArray<int>("ints"));
        Assert.Equal([true, false], file.GetArray<bool>("bools"));
        Assert.Equal(GgufValueType.Array, file.MetadataTypes["ints"]);
        Assert.Equal(200u, file.GetUInt32("u8"));
        Assert.Throws<ModelFormatException>(() => file.GetUInt32("i32"));
        Assert.Throws<ModelFormatException>(() => file.GetArray<int>("floats"));
        Assert.False(file.TryGetString("absent", out _));
        var missing = Assert.Throws<ModelFormatException>(() => file.GetString("absent"));
        Assert.Contains("'absent'", missing.Message);
        Assert.Equal([1f, 2f, 3f], file.ReadTensor("a").Data);
    }

    [Fact]
    public void Writer_RejectsInconsistentInput()
    {
        var writer = new GgufWriter();
        Assert.Throws<ArgumentException>(() => writer.AddTensor("x", [2, 3], new float[5]));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("x", [2, 16], new float[32], GgufTensorType.Q4_0));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("x", [2], new float[2], GgufTensorType.Q4_K));
        Assert.Throws<ArgumentException>(() => writer.AddMetadata("k", new object()));
        writer.AddMetadata("k", 1);
        Assert.Throws<ArgumentException>(() => writer.AddMetadata("k", 2));
        Assert.Throws<ArgumentException>(() => new GgufWriter(alignment: 48));
    }

    [Fact]
    public void Gpt2Gguf_LoadsTheSameTensorsAsTheHuggingFaceCheckpoint()
    {
        using var temp = new TempDirectory();
        IReadOnlyDictionary<string, HostTensor> raw = SafetensorsReader.ReadAll(Path.Combine(SharedAssets.Gpt2TinyRandomHf, "model.safetensors"));
        float[] T(string name) // Conv1D [in, out] -> [out, in], as llama.cpp's converter does
        {
            HostTensor t = raw[name];
            int rows = (int)t.Shape[0], cols = (int)t.Shape[1];
            var result = new float[t.Data.Length];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) result[(c * rows) + r] = t.Data[(r * cols) + c];
            return result;
        }
        var writer = new GgufWriter()
            .AddMetadata("general.architecture", "gpt2")
            .AddMetadata("gpt2.context_length", 128u).AddMetadata("gpt2.embedding_length", 64u).AddMetadata("gpt2.feed_forward_length", 256u)
            .AddMetadata("gpt2.block_count", 4u).AddMetadata("gpt2.attention.head_count", 4u).AddMetadata("gpt2.attention.layer_norm_epsilon", 1e-5f)
            .AddMetadata("tokenizer.ggml.bos_token_id", 1023u).AddMetadata("tokenizer.ggml.eos_token_id", 1023u)
            .AddTensor("token_embd.weight", [1024, 64], raw["transformer.wte.weight"].Data)
            .AddTensor("position_embd.weight", [128, 64], raw["transformer.wpe.weight"].Data)
            .AddTensor("output_norm.weight", [64], raw["transformer.ln_f.weight"].Data)
            .AddTensor("output_norm.bias", [64], raw["transformer.ln_f.bias"].Data);
        for (int l = 0; l < 4; l++)
        {
            string h = $"transformer.h.{l}.", b = $"blk.{l}.";
            writer.AddTensor(b + "attn_norm.weight", [64], raw[h + "ln_1.weight"].Data).AddTensor(b + "attn_norm.bias", [64], raw[h + "ln_1.bias"].Data)
                .AddTensor(b + "attn_qkv.weight", [192, 64], T(h + "attn.c_attn.weight")).AddTensor(b + "attn_qkv.bias", [192], raw[h + "attn.c_attn.bias"].Data)
                .AddTensor(b + "attn_output.weight", [64, 64], T(h + "attn.c_proj.weight")).AddTensor(b + "attn_output.bias", [64], raw[h + "attn.c_proj.bias"].Data)
                .AddTensor(b + "ffn_norm.weight", [64], raw[h + "ln_2.weight"].Data).AddTensor(b + "ffn_norm.bias", [64], raw[h + "ln_2.bias"].Data)
                .AddTensor(b + "ffn_up.weight", [256, 64], T(h + "mlp.c_fc.weight")).AddTensor(b + "ffn_up.bias", [256], raw[h + "mlp.c_fc.bias"].Data)
                .AddTensor(b + "ffn_down.weight", [64, 256], T(h + "mlp.c_proj.weight")).AddTensor(b + "ffn_down.bias", [64], raw[h + "mlp.c_proj.bias"].Data);
        }
        writer.Write(temp.File("gpt2.gguf"));

        CheckpointData gguf = GgufLoader.Load(temp.File("gpt2.gguf"));
        CheckpointData hf = HuggingFaceLoader.Load(SharedAssets.Gpt2TinyRandomHf);
        Assert.Equal(hf.Config, gguf.Config);
        TestData.AssertSameTensors(hf.Tensors, gguf.Tensors);
    }

    // ---- bad input ----

    private static ModelFormatException AssertRejected(TempDirectory temp, byte[] bytes, params string[] fragments)
    {
        string path = temp.File($"bad-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<ModelFormatException>(() => GgufLoader.Load(path));
        Assert.Contains(path, ex.Message);
        foreach (string fragment in fragments) Assert.True(ex.Message.Contains(fragment, StringComparison.Ordinal), $"'{fragment}' not in: {ex.Message}");
        return ex;
    }

    private static byte[] TinyGgufBytes(Func<TinyLlama, GgufWriter>? build = null)
    {
        TinyLlama m = TinyLlama.Create();
        using var stream = new MemoryStream();
        (build?.Invoke(m) ?? m.GgufWriter()).WriteTo(stream);
        return stream.ToArray();
    }

    [Fact]
    public void MissingAndEmptyFiles_AreNamed()
    {
        using var temp = new TempDirectory();
        var ex = Assert.Throws<ModelFormatException>(() => GgufLoader.Load(temp.File("none.gguf")));
        Assert.Contains("none.gguf", ex.Message);
        AssertRejected(temp, [], "0 bytes");
        AssertRejected(temp, Encoding.ASCII.GetBytes("GGML\u0003\0\0\0"), "not a GGUF file");
    }

    [Theory]
    [InlineData(1u, "v1")]
    [InlineData(0x03000000u, "big-endian")]
    [InlineData(4u, "version 4")]
    public void UnsupportedVersions_AreRejected(uint version, string fragment)
    {
        using var temp = new TempDirectory();
        AssertRejected(temp, new RawGguf { Version = version }.Build(), fragment);
    }

    [Fact]
    public void TruncatedFiles_AreRejectedAtEveryCutPoint()
    {
        using var temp = new TempDirectory();
        byte[] bytes = TinyGgufBytes();
        GgufFile whole;
        string wholePath = temp.File("whole.gguf");
        File.WriteAllBytes(wholePath, bytes);
        whole = GgufFile.Read(wholePath);
        int[] cuts = [3, 6, 12, 20, 23, 30, 200, (int)whole.DataOffset - 40, (int)whole.DataOffset - 1, (int)whole.DataOffset + 7, bytes.Length - 1];
        foreach (int cut in cuts)
        {
            ModelFormatException ex = AssertRejected(temp, bytes[..cut]);
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(ex.Message, "truncated|too short|end of file|outside the file|beyond the end of the file"), $"cut {cut}: {ex.Message}");
        }
        // A cut inside the data section names the tensor whose bytes are missing.
        AssertRejected(temp, bytes[..(bytes.Length - 1)], "'blk.1.ffn_norm.weight'", "outside the file");
    }

    [Fact]
    public void KeyLengthInflatedTo2Pow60_IsRejectedWithoutAllocating()
    {
        using var temp = new TempDirectory();
        byte[] bytes = new RawGguf().RawMetadata(w => w.Write(1UL << 60)).Build();
        AssertRejected(temp, bytes, "metadata key #0", "limit");
    }

    [Fact]
    public void StringValueLengthInflatedTo2Pow60_IsRejectedWithoutAllocating()
    {
        using var temp = new TempDirectory();
        byte[] bytes = new RawGguf().RawMetadata(w =>
        {
            RawGguf.WriteString(w, "general.name");
            w.Write(8u);
            w.Write(1UL << 60);
        }).Build();
        AssertRejected(temp, bytes, "'general.name'", "limit");
    }

    [Theory]
    [InlineData(1UL << 40, "limit")]
    [InlineData(1_000_000UL, "truncated")]
    public void ArrayLengthInflated_IsRejected(ulong count, string fragment)
    {
        using var temp = new TempDirectory();
        byte[] bytes = new RawGguf().RawMetadata(w =>
        {
            RawGguf.WriteString(w, "tokenizer.ggml.tokens");
            w.Write(9u);
            w.Write(8u);
            w.Write(count);
            RawGguf.WriteString(w, "a");
        }).Build();
        AssertRejected(temp, bytes, "'tokenizer.ggml.tokens'", fragment);
    }

    [Theory]
    [InlineData(1UL << 40, "tensor_count", "limit")]
    [InlineData(1000UL, "tensor #1", "truncated")]
    public void TensorCountInflated_IsRejected(ulong count, string field, string fragment)
    {
        using var temp = new TempDirectory();
        // No data section: the file ends right after the one real tensor info.
        byte[] bytes = new RawGguf { TensorCountOverride = count }.Tensor("t", [32], 0, 0).Build();
        AssertRejected(temp, bytes, field, fragment);
    }

    [Fact]
    public void MetadataCountInflated_IsRejected()
    {
        using var temp = new TempDirectory();
        AssertRejected(temp, new RawGguf { KvCountOverride = ulong.MaxValue }.Build(), "metadata_kv_count", "limit");
        AssertRejected(temp, new RawGguf { KvCountOverride = 5 }.String("a", "b").Build(), "metadata key #1", "truncated");
    }

    [Theory]
    [InlineData(new ulong[] { 1, 1, 1, 1, 1 }, 0u, 0UL, "5 dimensions")]
    [InlineData(new ulong[] { 16 }, 2u, 0UL, "not a multiple of its block size")]
    [InlineData(new ulong[] { 32 }, 0u, 7UL, "not a multiple of the alignment")]
    [InlineData(new ulong[] { 32 }, 0u, 1UL << 62, "beyond the end of the file")]
    [InlineData(new ulong[] { 1UL << 20, 1UL << 20 }, 0u, 0UL, "outside the file")]
    [InlineData(new ulong[] { 1UL << 40, 1UL << 40 }, 0u, 0UL, "overflows")]
    [InlineData(new ulong[] { 1UL << 62, 1UL << 62 }, 0u, 0UL, "overflows")]
    [InlineData(new ulong[] { ulong.MaxValue }, 0u, 0UL, "does not fit")]
    public void BadTensorInfos_AreNamed(ulong[] ne, uint type, ulong offset, string fragment)
    {
        using var temp = new TempDirectory();
        byte[] bytes = new RawGguf().Tensor("weird.weight", ne, type, offset).Build(new byte[128]);
        AssertRejected(temp, bytes, "'weird.weight'", fragment);
    }

    [Fact]
    public void OverlappingTensors_AreNamed()
    {
        using var temp = new TempDirectory();
        byte[] bytes = new RawGguf().Tensor("a", [16], 0, 0).Tensor("b", [16], 0, 32).Build(new byte[128]);
        AssertRejected(temp, bytes, "'a'", "'b'", "overlap");
    }

    [Theory]
    [InlineData(99u, "unknown ggml type 99")]
    [InlineData(24u, "I8 (24)")]
    public void UnsupportedTensorType_IsNamedOnLoad(uint type, string fragment)
    {
        using var temp = new TempDirectory();
        byte[] bytes = TinyGgufBytes();
        PatchTensorType(bytes, "blk.0.attn_v.weight", type);
        string path = temp.File("patched.gguf");
        File.WriteAllBytes(path, bytes);
        Assert.Equal((GgufTensorType)type, GgufFile.Read(path).Tensors.Single(t => t.Name == "blk.0.attn_v.weight").Type);
        var ex = Assert.Throws<ModelFormatException>(() => GgufLoader.Load(path));
        Assert.Contains("'blk.0.attn_v.weight'", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    private static void PatchTensorType(byte[] bytes, string name, uint type)
    {
        byte[] needle = [.. BitConverter.GetBytes((ulong)name.Length), .. Encoding.UTF8.GetBytes(name)];
        int at = bytes.AsSpan().IndexOf(needle);
        Assert.True(at > 0);
        int cursor = at + needle.Length;
        uint dims = BitConverter.ToUInt32(bytes, cursor);
        cursor += 4 + (8 * (int)dims);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(cursor), type);
    }

    [Fact]
    public void UnknownArchitecture_IsNamed()
    {
        using var temp = new TempDirectory();
        byte[] bytes = new RawGguf().String("general.architecture", "falcon").Build();
        AssertRejected(temp, bytes, "general.architecture", "'falcon'");
        AssertRejected(temp, new RawGguf().String("general.name", "x").Build(), "general.architecture", "missing");
    }

    [Fact]
    public void RopeDimensionMismatch_IsNamed()
    {
        using var temp = new TempDirectory();
        byte[] bytes = TinyGgufBytes(m =>
        {
            GgufWriter w = m.GgufWriter();
            return w;
        });
        // Rewrite llama.rope.dimension_count (8) to 4: partial rotary is not supported.
        byte[] key = [.. BitConverter.GetBytes((ulong)"llama.rope.dimension_count".Length), .. Encoding.UTF8.GetBytes("llama.rope.dimension_count")];
        int at = bytes.AsSpan().IndexOf(key) + key.Length + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), 4);
        AssertRejected(temp, bytes, "llama.rope.dimension_count", "4", "8");
    }

    [Fact]
    public void MissingTensor_IsNamed()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        var writer = new GgufWriter().AddMetadata("general.architecture", "llama")
            .AddMetadata("llama.context_length", 16u).AddMetadata("llama.embedding_length", 32u).AddMetadata("llama.feed_forward_length", 64u)
            .AddMetadata("llama.block_count", 1u).AddMetadata("llama.attention.head_count", 4u)
            .AddTensor("token_embd.weight", [32, 32], m.Embedding)
            .AddTensor("blk.0.attn_norm.weight", [32], m.AttnNorm[0]);
        using var stream = new MemoryStream();
        writer.WriteTo(stream);
        AssertRejected(temp, stream.ToArray(), "missing tensor", "'blk.0.attn_q.weight'");
    }

    [Fact]
    public void MetadataShapeMismatch_NamesTensorAndShapes()
    {
        using var temp = new TempDirectory();
        byte[] bytes = TinyGgufBytes();
        byte[] key = [.. BitConverter.GetBytes((ulong)"llama.feed_forward_length".Length), .. Encoding.UTF8.GetBytes("llama.feed_forward_length")];
        int at = bytes.AsSpan().IndexOf(key) + key.Length + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), 96);
        AssertRejected(temp, bytes, "'blk.0.ffn_gate.weight'", "[64, 32]", "[96, 32]");
    }

    [Fact]
    public void MistypedMetadata_IsNamed()
    {
        using var temp = new TempDirectory();
        byte[] bytes = new RawGguf().String("general.architecture", "llama").String("llama.embedding_length", "sixty-four").Build();
        AssertRejected(temp, bytes, "'llama.embedding_length'", "unsigned 32-bit");
    }

    [Fact]
    public void DuplicateKeysAndTensors_AreNamed()
    {
        using var temp = new TempDirectory();
        AssertRejected(temp, new RawGguf().String("a", "1").String("a", "2").Build(), "'a'", "twice");
        AssertRejected(temp, new RawGguf().Tensor("t", [8], 0, 0).Tensor("t", [8], 0, 32).Build(new byte[64]), "'t'", "twice");
    }
}
