using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Policies.Tests;

public sealed class CalibrationRecordTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qs-record-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Round_trips_through_json_including_NaN()
    {
        var record = new CalibrationRecord(3) { DriftMode = DriftMode.Absolute, RelativeFusionDistance = false };
        record.AddDrift(1, 0.5f);
        record.AddDrift(3, float.NaN);
        record.AddEntropy(2, 1.25f);
        record.AddHaltedMaxAttention(2, 0.01f);
        record.AddAdjacentDistance(3, 7f);

        var path = Path.Combine(_dir, "r", "record.json");
        record.Save(path);
        var back = CalibrationRecord.Load(path);

        Assert.Equal(3, back.NumLayers);
        Assert.Equal(DriftMode.Absolute, back.DriftMode);
        Assert.False(back.RelativeFusionDistance);
        Assert.Equal([0.5f], back.Drift[0]);
        Assert.Empty(back.Drift[1]);
        Assert.True(float.IsNaN(Assert.Single(back.Drift[2])));
        Assert.Equal([1.25f], back.Entropy[1]);
        Assert.Equal([0.01f], back.HaltedMaxAttention[1]);
        Assert.Equal([7f], back.AdjacentDistance[2]);
    }

    [Theory]
    [InlineData("""{ "numLayers": 2, "driftMode": "relative", "relativeFusionDistance": true, "drift": [[]], "entropy": [[],[]], "haltedMaxAttention": [[],[]], "adjacentDistance": [[],[]] }""", "drift")]
    [InlineData("""{ "numLayers": 1, "driftMode": "relative", "relativeFusionDistance": true, "drift": [[]], "entropy": [[]], "haltedMaxAttention": [[]] }""", "adjacentDistance")]
    [InlineData("""{ "numLayers": 0 }""", "numLayers")]
    [InlineData("""{ "numLayers": 1, "extra": 1 }""", "$.extra")]
    [InlineData("""{ "numLayers": 1, "drift": [null] }""", "drift[0]")]
    [InlineData("""{""", "$")]
    public void Inconsistent_records_are_rejected(string json, string field)
    {
        var e = Assert.Throws<CalibrationException>(() => CalibrationRecord.FromJson(json));
        Assert.StartsWith(field, e.Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_names_the_file()
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, """{ "numLayers": 0 }""");
        var e = Assert.Throws<CalibrationException>(() => CalibrationRecord.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Throws<QuickSilverException>(() => CalibrationRecord.Load(Path.Combine(_dir, "missing.json")));
    }

    [Fact]
    public void Pool_concatenates_the_requested_layers()
    {
        var record = new CalibrationRecord(3);
        record.AddDrift(1, 1f);
        record.AddDrift(2, 2f);
        record.AddDrift(3, 3f);
        Assert.Equal([3f, 1f], record.Pool(record.Drift, [3, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => record.Pool(record.Drift, [4]));
    }
}
