using System.Collections;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>The QUICKSILVER_* on/off switches: unset takes the default, 1/0 set it, anything else is refused by name.</summary>
public sealed class EnvironmentSwitchTests
{
    [Theory]
    [InlineData(null, false, false)]
    [InlineData(null, true, true)]
    [InlineData("", true, true)]
    [InlineData("1", false, true)]
    [InlineData(" 1 ", false, true)]
    [InlineData("0", true, false)]
    public void Unset_takes_the_default_and_1_or_0_set_it(string? value, bool defaultValue, bool expected)
    {
        var environment = new Hashtable { ["PATH"] = "/usr/bin" };
        if (value is not null) environment["QUICKSILVER_TEST_SWITCH"] = value;
        Assert.Equal(expected, EnvironmentSwitch.Read(environment, "QUICKSILVER_TEST_SWITCH", defaultValue));
    }

    [Theory]
    [InlineData("QUICKSILVER_KEEP_MALLOC", "true")]
    [InlineData("QUICKSILVER_KEEP_LIBRARY_PAGES", "yes")]
    [InlineData("QUICKSILVER_GEMM_VNNI", "off")]
    public void Any_other_value_is_refused_by_name(string name, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => EnvironmentSwitch.Read(new Hashtable { [name] = value }, name, defaultValue: false));
        Assert.Contains(name, error.Message);
        Assert.Contains(value, error.Message);
    }

    [Fact]
    public void The_allocator_and_library_page_switches_refuse_a_mistyped_value()
    {
        Assert.Contains("QUICKSILVER_KEEP_MALLOC", Assert.Throws<InvalidOperationException>(
            () => NativeAllocator.ShouldFixThreshold(new Hashtable { ["QUICKSILVER_KEEP_MALLOC"] = "true" })).Message);
        Assert.Contains("QUICKSILVER_KEEP_LIBRARY_PAGES", Assert.Throws<InvalidOperationException>(
            () => NativeLibraryPages.ShouldRelease(new Hashtable { ["QUICKSILVER_KEEP_LIBRARY_PAGES"] = "true" })).Message);
    }
}
