using System.Text.Json.Nodes;
using CsCheck;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tests.Loading;

namespace QuickSilver.Engine.Tests.Reliability;

/// <summary>
/// The shard index (model.safetensors.index.json) names files to open, so it is both a parser and a path: mutated indexes must open
/// the checkpoint or throw <see cref="ModelFormatException"/>, and must never open a file outside the model folder.
/// </summary>
public sealed class SafetensorsIndexFuzzTests
{
    public const int Cases = 400;

    private static readonly string[] Shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    private static readonly string[] Tensors = ["a.weight", "b.weight", "c.bias", "d"];

    private static readonly string[] Values =
    [
        "\"model-00001-of-00002.safetensors\"", "\"model-00002-of-00002.safetensors\"", "\"../outside.safetensors\"", "\"/etc/passwd\"",
        "\"sub/../model-00001-of-00002.safetensors\"", "\"\"", "\".\"", "\"model.safetensors.index.json\"", "\"missing.safetensors\"",
        "\"model-00001-of-00002.safetensors\\u0000x\"", "5", "null", "[]", "{}", "true", "\"C:\\\\x.safetensors\"", "\"~/x.safetensors\"",
    ];

    [Fact]
    public void MutatedShardIndex_OpensOrThrowsModelFormatException_NeverLeavesTheFolder()
    {
        using var root = new TempDirectory();
        string folder = root.SubDirectory("model");
        SafetensorsTestWriter.Write(Path.Combine(folder, Shards[0]), [SafetensorsTestWriter.F32("a.weight", [2, 2], TestData.Random(4, 1)), SafetensorsTestWriter.F32("b.weight", [3], TestData.Random(3, 2))]);
        SafetensorsTestWriter.Write(Path.Combine(folder, Shards[1]), [SafetensorsTestWriter.F32("c.bias", [2], TestData.Random(2, 3)), SafetensorsTestWriter.F16("d", [4], TestData.Random(4, 4))]);
        // A valid shard just outside the folder: an index that reaches it must be rejected, not read.
        SafetensorsTestWriter.Write(root.File("outside.safetensors"), [SafetensorsTestWriter.F32("a.weight", [2, 2], TestData.Random(4, 9))]);
        var weightMap = new JsonObject { ["a.weight"] = Shards[0], ["b.weight"] = Shards[0], ["c.bias"] = Shards[1], ["d"] = Shards[1] };
        string valid = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = 52 }, ["weight_map"] = weightMap }.ToJsonString();
        string index = Path.Combine(folder, SafetensorsReader.IndexFileName);
        File.WriteAllText(index, valid);
        using (SafetensorsCheckpoint baseline = SafetensorsReader.OpenCheckpoint(folder)) Assert.Equal(4, baseline.TensorNames.Count());

        string fullFolder = Path.GetFullPath(folder) + Path.DirectorySeparatorChar;
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, Tensors.Length], Gen.Int[0, Values.Length - 1], Gen.Int[0, valid.Length]).Array[1, 3].Sample(edits =>
        {
            JsonObject document = JsonNode.Parse(valid)!.AsObject();
            string? text = null;
            foreach ((int kind, int tensor, int value, int cut) in edits)
            {
                JsonNode? map = document["weight_map"];
                switch (kind)
                {
                    case 0 when map is JsonObject m:
                        m[tensor == Tensors.Length ? "extra.tensor" : Tensors[tensor]] = JsonNode.Parse(Values[value]);
                        break;
                    case 1 when map is JsonObject m:
                        m.Remove(Tensors[tensor % Tensors.Length]);
                        break;
                    case 2:
                        document["weight_map"] = JsonNode.Parse(Values[value]);
                        break;
                    default:
                        text = document.ToJsonString()[..Math.Min(cut, document.ToJsonString().Length)];
                        break;
                }
            }
            File.WriteAllText(index, text ?? document.ToJsonString());
            try
            {
                using SafetensorsCheckpoint checkpoint = SafetensorsReader.OpenCheckpoint(folder);
                foreach (string name in checkpoint.TensorNames)
                {
                    Assert.StartsWith(fullFolder, Path.GetFullPath(checkpoint.FileOf(name)));
                    checkpoint.ReadFloat32(name);
                }
            }
            catch (ModelFormatException)
            {
            }
        }, iter: Cases, threads: 1);
    }
}
