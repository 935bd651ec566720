using System.CommandLine;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Cli.Kernels;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Cli.Commands;

/// <summary><c>quicksilver matvec</c>: weight GB/s of the decode matrix-vector kernels per type, shape and thread count, new against previous.</summary>
internal static class MatVecCommand
{
    public static Command Create(CommandContext context)
    {
        var types = new Option<string>("--types") { Description = "Comma-separated weight types: Q8_0, Q4_0, Q4_K, Q5_K, Q6_K.", DefaultValueFactory = _ => "Q8_0,Q4_0,Q4_K" };
        var threads = new Option<string>("--threads") { Description = "Comma-separated thread counts.", DefaultValueFactory = _ => "1,2" };
        var tokens = new Option<int>("--tokens") { Description = "Activation rows per product (1 = decode).", DefaultValueFactory = _ => 1 };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per cell.", DefaultValueFactory = _ => 0.5 };
        var outOption = CommonOptions.Out("matvec");
        var command = new Command("matvec", "Decode matrix-vector kernels: weight bytes per second per type, shape and threads, new kernel against the previous path.");
        foreach (var option in new Option[] { types, threads, tokens, seconds, outOption }) command.Options.Add(option);
        command.SetAction(parse => context.Execute(() =>
        {
            CommonOptions.Positive(parse.GetValue(tokens), "--tokens");
            if (!(parse.GetValue(seconds) > 0)) throw new CliException("--seconds must be positive.", ExitCodes.UsageError);
            if (KernelSettings.Best != KernelIsa.Avx512) throw new CliException("matvec measures the AVX-512 kernels; this CPU lacks AVX-512 BW.", ExitCodes.Failure);
            var typeList = parse.GetValue(types)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
                Enum.TryParse<GgufTensorType>(t, ignoreCase: true, out var type) && QuantizedMatrix.Supports(type) && !QuantizedMatrix.IsHalfPrecision(type)
                    ? type : throw new CliException($"--types: unknown or unsupported type '{t}'.", ExitCodes.UsageError)).ToList();
            var threadList = parse.GetValue(threads)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
                int.TryParse(t, out int n) && n > 0 ? n : throw new CliException($"--threads: '{t}' is not a positive integer.", ExitCodes.UsageError)).ToList();
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            string line = ("quicksilver " + string.Join(' ', parse.Tokens.Select(t => t.Value))).Trim();
            var result = MatVecProbe.Run(typeList, threadList, parse.GetValue(tokens), parse.GetValue(seconds), line, context.Reporter.Line);
            var markdown = MatVecProbe.Render(result);
            var (md, js) = folder.WriteReport("matvec", markdown, result);
            context.Output.WriteLine(markdown);
            context.Output.WriteLine($"Results: {md}, {js}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
