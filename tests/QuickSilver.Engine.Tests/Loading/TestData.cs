namespace QuickSilver.Engine.Tests.Loading;

internal static class TestData
{
    public static float[] Random(int count, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        return values;
    }

    public static void AssertSameTensors(IReadOnlyDictionary<string, QuickSilver.Engine.Loading.HostTensor> expected,
        IReadOnlyDictionary<string, QuickSilver.Engine.Loading.HostTensor> actual, float tolerance = 0f, IEnumerable<string>? skip = null)
    {
        var skipped = new HashSet<string>(skip ?? []);
        Assert.Equal(expected.Keys.Where(k => !skipped.Contains(k)).OrderBy(k => k, StringComparer.Ordinal),
            actual.Keys.Where(k => !skipped.Contains(k)).OrderBy(k => k, StringComparer.Ordinal));
        foreach ((string name, QuickSilver.Engine.Loading.HostTensor tensor) in expected)
        {
            if (skipped.Contains(name)) continue;
            AssertClose(name, tensor, actual[name], tolerance);
        }
    }

    public static void AssertClose(string name, QuickSilver.Engine.Loading.HostTensor expected, QuickSilver.Engine.Loading.HostTensor actual, float tolerance)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{name}: shape [{string.Join(",", expected.Shape)}] vs [{string.Join(",", actual.Shape)}]");
        Assert.Equal(expected.Data.Length, actual.Data.Length);
        for (int i = 0; i < expected.Data.Length; i++)
        {
            float diff = Math.Abs(expected.Data[i] - actual.Data[i]);
            if (!(diff <= tolerance))
                Assert.Fail($"{name}[{i}]: expected {expected.Data[i]:R}, got {actual.Data[i]:R} (|Δ| {diff:R} > {tolerance:R})");
        }
    }
}
