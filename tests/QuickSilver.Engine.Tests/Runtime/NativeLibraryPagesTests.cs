using System.Collections;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>Only libtorch's read-only executable mappings are released, and the opt-out is honoured (see <see cref="NativeLibraryPages"/>).</summary>
public sealed class NativeLibraryPagesTests
{
    private static readonly string[] Maps =
    [
        "7f0000000000-7f0000200000 r--p 00000000 fe:00 11 /opt/app/runtimes/linux-x64/native/libtorch_cpu.so",
        "7f0000200000-7f0015600000 r-xp 00200000 fe:00 11 /opt/app/runtimes/linux-x64/native/libtorch_cpu.so",
        "7f0015600000-7f0015800000 rw-p 15600000 fe:00 11 /opt/app/runtimes/linux-x64/native/libtorch_cpu.so",
        "7f0016000000-7f0016400000 r-xp 00000000 fe:00 12 /opt/app/runtimes/linux-x64/native/libc10.so",
        "7f0017000000-7f0017100000 r-xp 00000000 fe:00 13 /usr/lib/x86_64-linux-gnu/libc.so.6",
        "7f0018000000-7f0018100000 rwxp 00000000 00:00 0 ",
        "7f0019000000-7f0019100000 r-xp 00000000 00:00 0 ",
        "not a maps line",
    ];

    [Fact]
    public void Only_read_only_executable_libtorch_mappings_are_selected()
    {
        var selected = NativeLibraryPages.ExecutableMappings(Maps).ToList();
        Assert.Equal([(0x7f0000200000UL, 0x15400000UL), (0x7f0016000000UL, 0x400000UL)], selected);
    }

    [Fact]
    public void The_opt_out_keeps_the_pages() =>
        Assert.False(NativeLibraryPages.ShouldRelease(new Hashtable { ["QUICKSILVER_KEEP_LIBRARY_PAGES"] = " 1 " }));

    [Fact]
    public void A_plain_environment_releases_them() =>
        Assert.True(NativeLibraryPages.ShouldRelease(new Hashtable { ["PATH"] = "/usr/bin", ["QUICKSILVER_KEEP_LIBRARY_PAGES"] = "0" }));
}
