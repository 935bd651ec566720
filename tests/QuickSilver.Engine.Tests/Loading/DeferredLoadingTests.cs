using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Loading;

/// <summary>
/// Float weights stay in the GGUF file until the model's tensor is filled from it (no whole-file float[] copy at load).
/// A deferred read must give exactly what the eager read gave, for every float and decoded type, for row ranges and
/// reordered rows, and a bad request must name the file and tensor.
/// </summary>
public sealed class DeferredLoadingTests
{
    private const int Rows = 6, Columns = 64;

    public static TheoryData<GgufTensorType> Types => new() { GgufTensorType.F32, GgufTensorType.F16, GgufTensorType.BF16, GgufTensorType.Q8_0, GgufTensorType.Q4_0 };

    [Theory]
    [MemberData(nameof(Types))]
    public void A_deferred_tensor_equals_the_eager_read_bit_for_bit(GgufTensorType type)
    {
        using var temp = new TempDirectory();
        var (file, info) = Write(temp, type);
        float[] eager = file.ReadTensorData(info);
        var deferred = new HostTensor("w", [Rows, Columns], new GgufTensorSlice(file, info, 0, Rows));
        Assert.True(deferred.IsDeferred);
        Assert.Equal(eager.LongLength, deferred.Length);
        var filled = new float[Rows * Columns];
        deferred.CopyTo(filled);
        AssertBits(eager, filled);
        AssertBits(eager, deferred.Data);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Row_ranges_and_row_orders_read_the_same_rows_as_the_eager_read(GgufTensorType type)
    {
        using var temp = new TempDirectory();
        var (file, info) = Write(temp, type);
        float[] eager = file.ReadTensorData(info);
        var rows = new float[3 * Columns];
        file.ReadTensorRows(info, 2, rows);
        AssertBits(eager.AsSpan(2 * Columns, 3 * Columns).ToArray(), rows);

        var cut = new GgufTensorSlice(file, info, 1, 4).SliceRows(1, 2); // rows 2..3 of the tensor
        var two = new float[2 * Columns];
        cut.ReadInto(two);
        AssertBits(eager.AsSpan(2 * Columns, 2 * Columns).ToArray(), two);

        int[] order = [5, 4, 0, 1, 2, 3];
        var reordered = new float[Rows * Columns];
        new GgufTensorSlice(file, info, 0, Rows, order).ReadInto(reordered);
        for (int r = 0; r < Rows; r++)
            AssertBits(eager.AsSpan(order[r] * Columns, Columns).ToArray(), reordered.AsSpan(r * Columns, Columns).ToArray());
    }

    [Fact]
    public void Rows_outside_the_tensor_are_refused_naming_the_file_and_tensor()
    {
        using var temp = new TempDirectory();
        var (file, info) = Write(temp, GgufTensorType.F32);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadTensorRows(info, 5, new float[2 * Columns]));
        Assert.Contains("'w'", ex.Message);
        Assert.Contains(file.Path, ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadTensorRows(info, -1, new float[Columns]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadTensorRows(info, 0, new float[Columns + 1]));
        var slice = Assert.Throws<ArgumentOutOfRangeException>(() => new GgufTensorSlice(file, info, 4, 3));
        Assert.Contains("'w'", slice.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufTensorSlice(file, info, 0, Rows, [0, 1, 2, 3, 4, 6]));
        Assert.Throws<ArgumentException>(() => new HostTensor("w", [Rows, Columns], new GgufTensorSlice(file, info, 0, Rows)).CopyTo(new float[Columns]));
    }

    [Fact]
    public void A_file_with_rows_past_its_end_fails_at_load_naming_the_tensor()
    {
        using var temp = new TempDirectory();
        var (file, info) = Write(temp, GgufTensorType.F32);
        // A header that claims more file than there is (as a truncated copy would, were the header reader lenient).
        var shortFile = new GgufFile(file.Path, file.Version, file.Alignment, file.DataOffset, file.FileLength - 4,
            file.Metadata, file.MetadataTypes, file.Tensors);
        var ex = Assert.Throws<ModelFormatException>(() => new GgufTensorSlice(shortFile, info, 0, Rows));
        Assert.Contains("'w'", ex.Message);
        Assert.Contains("beyond the end of the file", ex.Message);
        Assert.Throws<ModelFormatException>(() => shortFile.ReadTensorRows(info, Rows - 1, new float[Columns]));
    }

    [Fact]
    public void A_float_gguf_loads_deferred_and_gives_the_eager_models_logits_bit_for_bit()
    {
        using var temp = new TempDirectory();
        string path = temp.File("tiny.gguf");
        TinyLlama.Create().GgufWriter(GgufTensorType.F32).Write(path);
        CheckpointData deferred = GgufLoader.Load(path, keepQuantized: false);
        Assert.Contains(deferred.Tensors.Values, t => t.IsDeferred);
        var eagerTensors = deferred.Tensors.ToDictionary(p => p.Key, p => new HostTensor(p.Value.Name, p.Value.Shape, p.Value.Data));
        var eager = new CheckpointData(deferred.Config, eagerTensors, deferred.Tokenizer, deferred.Source, deferred.Metadata);
        using var a = TransformerModel.Create(deferred, torch.CPU);
        using var b = TransformerModel.Create(eager, torch.CPU);
        using var ids = torch.tensor(new long[] { 1, 5, 9, 3, 7 }, [1, 5], torch.int64);
        using var la = new QuickSilver.Engine.Runtime.ForwardRunner(a).DenseBatchLogits(ids);
        using var lb = new QuickSilver.Engine.Runtime.ForwardRunner(b).DenseBatchLogits(ids);
        AssertBits(lb.data<float>().ToArray(), la.data<float>().ToArray());
    }

    private static (GgufFile File, GgufTensorInfo Info) Write(TempDirectory temp, GgufTensorType type)
    {
        string path = temp.File($"w-{type}.gguf");
        new GgufWriter().AddTensor("w", [Rows, Columns], TestData.Random(Rows * Columns, 11), type).Write(path);
        var file = GgufFile.Read(path);
        Assert.True(file.TryGetTensor("w", out var info));
        return (file, info!);
    }

    private static void AssertBits(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"value {i}: {expected[i]} vs {actual[i]}");
    }
}
