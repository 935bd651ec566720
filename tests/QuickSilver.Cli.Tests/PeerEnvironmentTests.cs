using System.Diagnostics;
using QuickSilver.Cli.Compare;

namespace QuickSilver.Cli.Tests;

/// <summary>compare runs the LLamaSharp peer with its own defaults: none of the settings we impose on libtorch reach it.</summary>
public sealed class PeerEnvironmentTests
{
    [Fact]
    public void The_peer_worker_environment_carries_none_of_our_settings()
    {
        Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE"); // what the engine imposes
        Environment.SetEnvironmentVariable("QUICKSILVER_PEER_TEST", "1");
        try
        {
            var peer = ChildEnvironment(CompareRunner.WorkerStartInfo("llamasharp"));
            foreach (var name in PeerEnvironment.OurSettings) Assert.DoesNotContain(peer, line => line.StartsWith(name + "=", StringComparison.Ordinal));
            Assert.DoesNotContain(peer, line => line.StartsWith("QUICKSILVER_", StringComparison.Ordinal));
            Assert.Contains(peer, line => line.StartsWith("PATH=", StringComparison.Ordinal)); // everything else is inherited

            var ours = ChildEnvironment(CompareRunner.WorkerStartInfo("quicksilver"));
            Assert.Contains("OMP_WAIT_POLICY=PASSIVE", ours);
        }
        finally
        {
            Environment.SetEnvironmentVariable("QUICKSILVER_PEER_TEST", null);
        }
    }

    /// <summary>The environment a process started with <paramref name="start"/>'s settings really sees (printed by env(1)).</summary>
    private static string[] ChildEnvironment(ProcessStartInfo start)
    {
        start.FileName = "/usr/bin/env";
        start.ArgumentList.Clear();
        start.RedirectStandardOutput = true;
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
