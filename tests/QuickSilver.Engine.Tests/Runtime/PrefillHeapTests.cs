using QuickSilver.Engine.Runtime;
using Xunit;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>The opt-in prefill heap scope: only long passes raise malloc's thresholds, nested passes share one raise.</summary>
[Collection(TensorCountCollection.Name)]
public sealed class PrefillHeapTests
{
    [Theory]
    [InlineData(null, 0)]
    [InlineData("", 0)]
    [InlineData("0", 0)]
    [InlineData("8", 8 << 20)]
    [InlineData("32", 32 << 20)]
    public void The_threshold_comes_from_the_environment_off_by_default(string? value, int expected) =>
        Assert.Equal(expected, PrefillHeap.ThresholdFromEnvironment(value));

    [Theory]
    [InlineData("abc")]
    [InlineData("1000")]
    [InlineData("-5")]
    [InlineData("8.5")]
    public void A_bad_threshold_is_refused_by_name(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => PrefillHeap.ThresholdFromEnvironment(value));
        Assert.Contains("QUICKSILVER_PREFILL_HEAP_MIB", error.Message);
        Assert.Contains(value, error.Message);
    }

    [Fact]
    public void Short_passes_leave_malloc_alone_and_nested_passes_restore_once()
    {
        int before = PrefillHeap.Depth;
        using (PrefillHeap.Enter(PrefillHeap.MinTokens - 1)) Assert.Equal(before, PrefillHeap.Depth);
        int raise = PrefillHeap.Enabled ? 1 : 0;
        var outer = PrefillHeap.Enter(512);
        Assert.Equal(before + raise, PrefillHeap.Depth);
        using (PrefillHeap.Enter(64)) Assert.Equal(before + (2 * raise), PrefillHeap.Depth);
        Assert.Equal(before + raise, PrefillHeap.Depth);
        outer.Dispose();
        Assert.Equal(before, PrefillHeap.Depth);
        default(PrefillHeap.Scope).Dispose(); // a scope that raised nothing restores nothing
        Assert.Equal(before, PrefillHeap.Depth);
    }
}
