using System.Diagnostics;
using System.Text;

namespace QuickSilver.Adoption.Tests;

/// <summary>The outcome of a child process: exit code, merged output and how long it took.</summary>
internal sealed record ProcessResult(int ExitCode, string Output, TimeSpan Elapsed)
{
    public string Describe(string what) => $"{what} exited with {ExitCode} after {Elapsed.TotalSeconds:F0} s:\n{Tail(Output, 6000)}";

    private static string Tail(string text, int max) => text.Length <= max ? text : "...\n" + text[^max..];
}

/// <summary>Runs a command with a timeout (killing the whole tree when it expires) and captures stdout and stderr together.</summary>
internal static class ProcessRunner
{
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, IDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // The test host's own MSBuild settings must not leak into the child build.
        foreach (string inherited in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "VSTEST_HOST_DEBUG" })
        {
            info.Environment.Remove(inherited);
        }
        if (environment is not null)
        {
            foreach ((string key, string? value) in environment) info.Environment[key] = value;
        }

        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) output.AppendLine($"[killed after {timeout.TotalSeconds:F0} s]");
            return new ProcessResult(-1, output.ToString(), clock.Elapsed);
        }
        process.WaitForExit();
        lock (output) return new ProcessResult(process.ExitCode, output.ToString(), clock.Elapsed);
    }

    public static ProcessResult Dotnet(string workingDirectory, TimeSpan timeout, params string[] arguments)
        => Run("dotnet", arguments, workingDirectory, timeout);
}
