using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Cli.Commands;

/// <summary>
/// <c>quicksilver gemm</c>: a microbenchmark of the quantized matrix-matrix product (prefill) per weight format on random
/// weights: GOPS (2·rows·columns·tokens per second) of the int8 GEMM against the per-row kernels it replaces
/// (<see cref="KernelSettings.MatrixMatrix"/> off), at several token counts.
/// </summary>
internal static class GemmCommand
{
    private static readonly GgufTensorType[] Types = [GgufTensorType.Q8_0, GgufTensorType.Q4_0, GgufTensorType.Q4_K, GgufTensorType.Q5_K, GgufTensorType.Q6_K];

    public static Command Create(CommandContext context)
    {
        var rows = new Option<int>("--rows") { Description = "Weight rows (output features).", DefaultValueFactory = _ => 2816 };
        var columns = new Option<int>("--columns") { Description = "Weight columns (input features, a multiple of 256).", DefaultValueFactory = _ => 1024 };
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated activation row counts.", DefaultValueFactory = _ => "32,128,512" };
        var threads = new Option<int>("--threads") { Description = "Threads.", DefaultValueFactory = _ => 2 };
        var seconds = new Option<double>("--seconds") { Description = "Minimum time per measurement.", DefaultValueFactory = _ => 0.3 };
        var model = new Option<string?>("--model", "-m") { Description = "Instead of the microbenchmark: profile one prefill of --prompt-tokens on this model (matmuls vs the rest)." };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Prefill length with --model.", DefaultValueFactory = _ => 512 };
        var command = new Command("gemm", "Quantized matrix-matrix microbenchmark: GOPS of the int8 GEMM vs the per-row kernels, per format.");
        foreach (var option in new Option[] { rows, columns, tokens, threads, seconds, model, prompt }) command.Options.Add(option);
        command.SetAction(parse => context.Execute(() =>
        {
            int r = parse.GetValue(rows), c = parse.GetValue(columns), t = parse.GetValue(threads);
            if (parse.GetValue(model) is { } path)
            {
                CommonOptions.Positive(parse.GetValue(prompt), "--prompt-tokens");
                context.Output.WriteLine(ProfilePrefill(path, parse.GetValue(prompt), t));
                return Infrastructure.ExitCodes.Success;
            }
            CommonOptions.Positive(r, "--rows");
            CommonOptions.Positive(t, "--threads");
            if (c <= 0 || c % 256 != 0) throw new Infrastructure.CliException($"--columns: {c} is not a positive multiple of 256.");
            int[] counts = parse.GetValue(tokens)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new Infrastructure.CliException($"--tokens: '{s}' is not a positive integer.")).ToArray();
            context.Output.WriteLine(Run(r, c, counts, t, parse.GetValue(seconds)));
            return Infrastructure.ExitCodes.Success;
        }));
        return command;
    }

    private static string Run(int rows, int columns, int[] counts, int threads, double seconds)
    {
        var random = new Random(1);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"GEMM [{rows} x {columns}], {threads} threads, int8 GEMM (AVX-512 BW) available: {QuantizedGemmInfo()}");
        // GOPS per CPU-second (process CPU time) does not depend on how busy the machine is, wall-clock GOPS does.
        text.AppendLine("| format | tokens | GEMM GOPS | per-row GOPS | speed-up | GEMM GOPS per CPU-s | per-row GOPS per CPU-s |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var type in Types)
        {
            var weights = RandomWeights(random, type, rows, columns);
            foreach (int n in counts)
            {
                var x = new float[n * columns];
                for (int i = 0; i < x.Length; i++) x[i] = (float)((random.NextDouble() * 2) - 1);
                var output = new float[n * rows];
                var (gemm, gemmCpu) = Gops(weights, x, n, output, threads, seconds, matrixMatrix: true);
                var (perRow, perRowCpu) = Gops(weights, x, n, output, threads, seconds, matrixMatrix: false);
                text.AppendLine(CultureInfo.InvariantCulture, $"| {type} | {n} | {gemm:F1} | {perRow:F1} | {gemm / perRow:F2}x | {gemmCpu:F1} | {perRowCpu:F1} |");
            }
        }
        return text.ToString();
    }

    // Minor faults and user/system seconds of this process from /proc/self/stat (Linux; null elsewhere).
    private static (long MinorFaults, double User, double System)? SelfStat()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields from 3 (state) on
            const double ticks = 100; // USER_HZ
            return (long.Parse(f[7], CultureInfo.InvariantCulture), long.Parse(f[11], CultureInfo.InvariantCulture) / ticks, long.Parse(f[12], CultureInfo.InvariantCulture) / ticks);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    // One warm-up prefill, then one with the engine's operation profile on: where prefill time goes besides the matmuls.
    private static string ProfilePrefill(string path, int promptTokens, int threads)
    {
        using var model = QuickSilver.Engine.LanguageModel.Load(path, new QuickSilver.Engine.LanguageModelOptions { Threads = threads });
        var ids = Bench.Prefill.RandomTokens(promptTokens, model.Config.VocabSize - 3, seed: 5).Select(i => i + 3).ToArray();
        using var prefill = new Bench.Prefill(model, ids);
        prefill.Run();
        QuickSilver.Engine.Runtime.OpProfile.Reset();
        QuickSilver.Engine.Runtime.OpProfile.Enabled = true;
        using var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var stat0 = SelfStat();
        var clock = Stopwatch.StartNew();
        prefill.Run();
        double total = clock.Elapsed.TotalSeconds;
        var stat1 = SelfStat();
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        QuickSilver.Engine.Runtime.OpProfile.Enabled = false;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Prefill of {promptTokens} tokens, {threads} threads: {total:F3} s ({promptTokens / total:F1} tok/s), {cpu:F3} CPU-s (all threads; load-robust), GEMM {(KernelSettings.MatrixMatrix ? "on" : "off")}");
        if (stat0 is { } a && stat1 is { } b)
            text.AppendLine(CultureInfo.InvariantCulture, $"- of which user {b.User - a.User:F2} s, system {b.System - a.System:F2} s; {b.MinorFaults - a.MinorFaults} minor page faults (fresh pages of temporaries)");
        double timed = 0;
        foreach (var (op, (secs, calls)) in QuickSilver.Engine.Runtime.OpProfile.Snapshot().OrderByDescending(p => p.Value.Seconds))
        {
            timed += secs;
            text.AppendLine(CultureInfo.InvariantCulture, $"- {op}: {secs:F3} s ({100 * secs / total:F0}%), {calls} calls");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"- everything else (attention, norms, rotary, activation, tensor work): {total - timed:F3} s ({100 * (total - timed) / total:F0}%)");
        return text.ToString();
    }

    private static string QuantizedGemmInfo() => System.Runtime.Intrinsics.X86.Avx512BW.IsSupported ? "yes" : "no (both columns are the per-row path)";

    private static (double Wall, double PerCpuSecond) Gops(QuantizedMatrix weights, float[] x, int n, float[] output, int threads, double seconds, bool matrixMatrix)
    {
        bool saved = KernelSettings.MatrixMatrix;
        KernelSettings.MatrixMatrix = matrixMatrix;
        try
        {
            var blocks32 = new Q8Activations();
            var blocks256 = new Q8KActivations();
            void Once()
            {
                // Quantizing the activations is part of the product, as in the model.
                if (weights.BlockValues == 256)
                {
                    blocks256.Quantize(x, n, weights.Columns);
                    QuantizedMatMul.Multiply(weights, blocks256, output, KernelSettings.Isa, threads, weights.Rows, 0);
                }
                else
                {
                    blocks32.Quantize(x, n, weights.Columns);
                    QuantizedMatMul.Multiply(weights, blocks32, output, KernelSettings.Isa, threads);
                }
            }
            Once();
            using var process = Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            int repeats = 0;
            do
            {
                Once();
                repeats++;
            }
            while (clock.Elapsed.TotalSeconds < seconds);
            double wall = clock.Elapsed.TotalSeconds;
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
            double ops = 2.0 * weights.Rows * weights.Columns * n * repeats / 1e9;
            return (ops / wall, ops / Math.Max(cpu, 1e-9));
        }
        finally
        {
            KernelSettings.MatrixMatrix = saved;
        }
    }

    // Random codes with small finite half-precision scales (k-quants), or quantized random floats (Q8_0, Q4_0).
    private static QuantizedMatrix RandomWeights(Random random, GgufTensorType type, int rows, int columns)
    {
        if (QuantizedMatrix.CanQuantizeTo(type))
        {
            var values = new float[rows * columns];
            for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2) - 1) * 0.05f;
            return QuantizedMatrix.Quantize(type, rows, columns, values);
        }
        var format = BlockFormats.Get(type);
        var bytes = new byte[(long)rows * columns / format.BlockValues * format.BlockBytes];
        random.NextBytes(bytes);
        int[] halves = type == GgufTensorType.Q6_K ? [208] : [0, 2];
        for (int b = 0; b < bytes.Length; b += format.BlockBytes)
            foreach (int at in halves) { bytes[b + at] = 0x00; bytes[b + at + 1] = 0x20; } // 2^-7
        return QuantizedMatrix.FromGgufBlocks(type, rows, columns, bytes);
    }
}
