using System.Collections;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>The malloc threshold is fixed only when the user leaves malloc alone (see <see cref="NativeAllocator"/>).</summary>
public sealed class NativeAllocatorTests
{
    [Fact]
    public void A_plain_environment_gets_the_fixed_threshold() =>
        Assert.True(NativeAllocator.ShouldFixThreshold(new Hashtable { ["PATH"] = "/usr/bin", ["QUICKSILVER_KEEP_MALLOC"] = "0" }));

    [Theory]
    [InlineData("MALLOC_ARENA_MAX", "2")]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "131072")]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "0")]
    [InlineData("QUICKSILVER_KEEP_MALLOC", "1")]
    [InlineData("QUICKSILVER_KEEP_MALLOC", " 1 ")]
    public void Any_malloc_tuning_or_the_opt_out_leaves_malloc_alone(string name, string value) =>
        Assert.False(NativeAllocator.ShouldFixThreshold(new Hashtable { ["PATH"] = "/usr/bin", [name] = value }));

    [Fact]
    public void The_threshold_is_256_kibibytes_and_applied_once()
    {
        // Above a decode step's 128 KB logits row (kept in the arenas), below a prefill's per-chunk temporaries.
        Assert.Equal(256 * 1024, NativeAllocator.MmapThresholdBytes);
        NativeAllocator.FixMmapThreshold();
        Assert.False(NativeAllocator.FixMmapThreshold()); // a second call does nothing
    }
}
