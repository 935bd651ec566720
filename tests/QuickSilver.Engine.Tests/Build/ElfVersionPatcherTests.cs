using QuickSilver.Build;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Build;

public sealed class ElfVersionPatcherTests
{
    private const string Version = "GLIBCXX_3.4.32";

    private static string? PristineLibrary()
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        return File.Exists(path) ? path : null;
    }

    [Fact]
    public void Patch_marks_only_the_requested_version_weak_and_is_idempotent()
    {
        string? pristine = PristineLibrary();
        if (pristine is null || !OperatingSystem.IsLinux()) return; // Only Linux restores the linux-x64 library.
        string copy = Path.Combine(Path.GetTempPath(), $"qs-elf-{Guid.NewGuid():N}.so");
        File.Copy(pristine, copy);
        try
        {
            var before = ElfVersionPatcher.ReadVersionNeeds(File.ReadAllBytes(copy));
            var target = Assert.Single(before, n => n.Version == Version);
            Assert.False(target.IsWeak);
            Assert.Equal("libstdc++.so.6", target.File);

            Assert.Equal(ElfPatchResult.Patched, ElfVersionPatcher.Patch(copy, Version));
            var after = ElfVersionPatcher.ReadVersionNeeds(File.ReadAllBytes(copy));
            Assert.Equal(before.Count, after.Count);
            for (int i = 0; i < before.Count; i++)
            {
                Assert.Equal(before[i].Version, after[i].Version);
                bool shouldBeWeak = before[i].Version == Version || before[i].IsWeak;
                Assert.Equal(shouldBeWeak, after[i].IsWeak);
            }

            // Exactly the flag bytes changed.
            byte[] a = File.ReadAllBytes(pristine), b = File.ReadAllBytes(copy);
            Assert.Equal(a.Length, b.Length);
            int diffs = a.Zip(b).Count(p => p.First != p.Second);
            Assert.Equal(1, diffs);

            Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionPatcher.Patch(copy, Version));
            Assert.Equal(ElfPatchResult.VersionNotReferenced, ElfVersionPatcher.Patch(copy, "GLIBCXX_9.9.99"));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void Build_output_copy_is_patched_exactly_when_the_system_needs_it()
    {
        string output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(output)) return; // Not a linux-x64 build.
        var need = Assert.Single(ElfVersionPatcher.ReadVersionNeeds(File.ReadAllBytes(output)), n => n.Version == Version);
        if (ElfVersionPatcher.SystemLibStdCxxLacks(Version)) Assert.True(need.IsWeak);
    }

    [Fact]
    public void Torch_loads_and_computes()
    {
        using var a = torch.ones(3, 4);
        using var b = torch.ones(4, 2);
        using var c = a.matmul(b);
        Assert.Equal(4f, c[0, 0].item<float>());
    }

    [Fact]
    public void Non_elf_and_corrupt_inputs_are_handled()
    {
        Assert.Empty(ElfVersionPatcher.ReadVersionNeeds([1, 2, 3]));
        Assert.Empty(ElfVersionPatcher.ReadVersionNeeds(new byte[128]));
        byte[] header = new byte[64];
        header[0] = 0x7f; header[1] = (byte)'E'; header[2] = (byte)'L'; header[3] = (byte)'F'; header[4] = 2; header[5] = 1;
        BitConverter.GetBytes(1_000_000UL).CopyTo(header, 0x28); // section headers beyond the end
        BitConverter.GetBytes((ushort)64).CopyTo(header, 0x3A);
        BitConverter.GetBytes((ushort)3).CopyTo(header, 0x3C);
        Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.ReadVersionNeeds(header));
    }

    [Fact]
    public void System_check_finds_versions_in_a_given_library()
    {
        string fake = Path.Combine(Path.GetTempPath(), $"qs-fake-libstdcxx-{Guid.NewGuid():N}");
        File.WriteAllBytes(fake, System.Text.Encoding.ASCII.GetBytes("xxGLIBCXX_3.4.30\0GLIBCXX_3.4.32\0yy"));
        try
        {
            if (!OperatingSystem.IsLinux()) return;
            Assert.False(ElfVersionPatcher.SystemLibStdCxxLacks(Version, [fake]));
            Assert.True(ElfVersionPatcher.SystemLibStdCxxLacks("GLIBCXX_3.4.33", [fake]));
            Assert.False(ElfVersionPatcher.SystemLibStdCxxLacks(Version, ["/nonexistent/libstdc++.so.6"]));
        }
        finally
        {
            File.Delete(fake);
        }
    }
}
