using System.Diagnostics;
using QuickSilver.Build;
using QuickSilver.Testing;
using Xunit.Abstractions;

namespace QuickSilver.Adoption.Tests.Packaging;

/// <summary>
/// The user's path: pack the four packages to a local folder feed, create a console app in a temporary folder outside the
/// repository, reference QuickSilver.Extensions.AI from that feed (everything else from the default NuGet source), build it and
/// run it on stories260K. It must produce text through IChatClient with a tool-call round trip. On Debian 12 the run only works
/// if the libstdc++ fix reached the app through the Engine package's buildTransitive targets.
/// </summary>
public sealed class PackageConsumptionTests(ITestOutputHelper output)
{
    private static readonly string[] PackageIds = ["QuickSilver.Policies", "QuickSilver.Engine", "QuickSilver.Extensions.AI", "QuickSilver.SemanticKernel"];

    private const string DefaultNuGetSource = "https://api.nuget.org/v3/index.json";

    [Fact]
    public void A_fresh_console_app_outside_the_repository_runs_a_tool_call_through_the_packages()
    {
        var total = Stopwatch.StartNew();
        // A version of its own, so the NuGet cache never serves a package packed by an earlier run.
        string version = $"0.0.0-pkgtest.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        string work = Path.Combine(Path.GetTempPath(), "qs-package-test-" + Guid.NewGuid().ToString("N"));
        Assert.False(work.StartsWith(RepositoryPaths.Root, StringComparison.Ordinal), "the consumer app must live outside the repository");
        string feed = Path.Combine(work, "feed");
        string app = Path.Combine(work, "ConsumerApp");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(app);
        try
        {
            // 1. Pack the packages (the solution is already built in this configuration).
            string configuration = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
            // Only the four library projects are packable, so packing the solution packs exactly them.
            ProcessResult pack = ProcessRunner.Dotnet(RepositoryPaths.Root, TimeSpan.FromMinutes(4),
                "pack", RepositoryPaths.Combine("QuickSilver.AI.sln"), "-c", configuration, "--no-build", "-o", feed, $"-p:Version={version}");
            Assert.True(pack.ExitCode == 0, pack.Describe("dotnet pack"));
            Assert.Equal(PackageIds.Length, Directory.GetFiles(feed, "*.nupkg").Length);
            foreach (string id in PackageIds)
            {
                Assert.True(File.Exists(Path.Combine(feed, $"{id}.{version}.nupkg")), $"{id} was not packed");
            }
            output.WriteLine($"packed in {total.Elapsed.TotalSeconds:F1} s");

            // 2. A fresh app with an isolated NuGet configuration: the local feed and the default source.
            File.WriteAllText(Path.Combine(work, "NuGet.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="quicksilver-local" value="{feed}" />
                    <add key="nuget.org" value="{DefaultNuGetSource}" />
                  </packageSources>
                </configuration>
                """);
            string template = Path.Combine(AppContext.BaseDirectory, "Packaging", "ConsumerApp");
            File.WriteAllText(Path.Combine(app, "ConsumerApp.csproj"), File.ReadAllText(Path.Combine(template, "ConsumerApp.csproj.txt")).Replace("@VERSION@", version, StringComparison.Ordinal));
            File.Copy(Path.Combine(template, "Program.cs.txt"), Path.Combine(app, "Program.cs"));

            // 3. Build it as a user would.
            var buildClock = Stopwatch.StartNew();
            ProcessResult build = ProcessRunner.Dotnet(app, TimeSpan.FromMinutes(6), "build", "-c", "Release");
            Assert.True(build.ExitCode == 0, build.Describe("dotnet build of the consumer app"));
            output.WriteLine($"consumer app restored and built in {buildClock.Elapsed.TotalSeconds:F1} s");

            string dll = Directory.EnumerateFiles(Path.Combine(app, "bin"), "ConsumerApp.dll", SearchOption.AllDirectories).Single();
            string outDir = Path.GetDirectoryName(dll)!;
            long bytes = Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            output.WriteLine($"output {outDir}: {bytes / 1e6:F0} MB");
            // The runtime identifier keeps other platforms' libtorch out of the output.
            Assert.Empty(Directory.EnumerateFiles(outDir, "torch_cpu.dll", SearchOption.AllDirectories));
            Assert.Empty(Directory.EnumerateFiles(outDir, "libtorch_cpu.dylib", SearchOption.AllDirectories));

            if (OperatingSystem.IsLinux())
            {
                // The buildTransitive fix ran on the app's own copy where the system libstdc++ needs it.
                string native = Directory.EnumerateFiles(outDir, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
                var need = ElfVersionPatcher.ReadVersionNeeds(File.ReadAllBytes(native)).Single(n => n.Version == "GLIBCXX_3.4.32");
                Assert.True(need.IsWeak || SystemLibstdcxxHas("GLIBCXX_3.4.32"),
                    "GLIBCXX_3.4.32 is still a hard requirement in the app's libLibTorchSharp.so: the buildTransitive fix did not run.\n" + build.Output);
            }

            // 4. Run it on the default model.
            var runClock = Stopwatch.StartNew();
            ProcessResult run = ProcessRunner.Dotnet(app, TimeSpan.FromMinutes(3), dll, SharedAssets.Stories260KGguf);
            output.WriteLine(run.Output);
            Assert.True(run.ExitCode == 0, run.Describe("the consumer app"));
            Assert.Contains("TOOL_CALLS=", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("TOOL_CALLS=0", run.Output, StringComparison.Ordinal);
            output.WriteLine($"ran in {runClock.Elapsed.TotalSeconds:F1} s; whole test {total.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            TryDelete(work);
            // Drop this run's packages from the global cache again.
            string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            foreach (string id in PackageIds)
            {
                TryDelete(Path.Combine(cache, id.ToLowerInvariant(), version));
            }
        }
    }

    private static bool SystemLibstdcxxHas(string version)
    {
        foreach (string candidate in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
        {
            if (File.Exists(candidate))
            {
                byte[] bytes = File.ReadAllBytes(candidate);
                return bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(version + "\0")) >= 0;
            }
        }
        return false;
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
