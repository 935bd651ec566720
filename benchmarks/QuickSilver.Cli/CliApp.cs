using System.CommandLine;
using QuickSilver.Cli.Commands;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli;

/// <summary>The quicksilver command line: perplexity, calibration, ablations, traces, part-of-speech analysis, comparison with LLamaSharp, benchmarks.</summary>
internal static class CliApp
{
    public static RootCommand Build(CommandContext context)
    {
        var root = new RootCommand("QuickSilver evaluation and benchmark tool: measures the runtime honestly and reproduces the paper's tables and figures.");
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(PplCommand.Create(context));
        root.Subcommands.Add(CompareCommand.Create(context));
        root.Subcommands.Add(CompareCommand.CreateWorker(context));
        root.Subcommands.Add(AblateCommand.Create(context));
        root.Subcommands.Add(CalibrateCommand.Create(context));
        root.Subcommands.Add(TraceCommand.Create(context));
        root.Subcommands.Add(PosCommand.Create(context));
        root.Subcommands.Add(RegimesCommand.Create(context));
        root.Subcommands.Add(ConformanceCommand.Create(context));
        root.Subcommands.Add(RenderCommand.Create(context));
        root.Subcommands.Add(TokenizeCommand.Create(context));
        root.Subcommands.Add(SpeedCommand.Create(context));
        root.Subcommands.Add(PlanesCommand.Create(context));
        root.Subcommands.Add(SpeedCommand.CreateWorker(context));
        root.Subcommands.Add(BatchProbeCommand.Create(context));
        root.Subcommands.Add(MatVecCommand.Create(context));
        root.Subcommands.Add(GemmCommand.Create(context));
        root.Subcommands.Add(AccelProbeCommand.Create(context));
        return root;
    }

    /// <summary>Parses and runs; returns the exit code. <paramref name="output"/> and <paramref name="error"/> default to the console.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        // The engine's module initializer sets OMP_WAIT_POLICY=PASSIVE, which only works before libtorch loads;
        // option handling below touches TorchSharp directly, so run it first.
        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(typeof(QuickSilver.Engine.LanguageModel).Module.ModuleHandle);
        var outWriter = output ?? Console.Out;
        var errWriter = error ?? Console.Error;
        bool interactive = output is null && !Console.IsOutputRedirected;
        var context = new CommandContext(outWriter, errWriter, interactive);
        var root = Build(context);
        var parse = root.Parse(args);
        return parse.Invoke(new InvocationConfiguration { Output = outWriter, Error = errWriter, EnableDefaultExceptionHandler = false });
    }
}
