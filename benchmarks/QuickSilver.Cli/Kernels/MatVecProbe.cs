using System.Diagnostics;
using System.Text;
using QuickSilver.Cli.Bench;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Cli.Kernels;

/// <summary>One measured matrix-vector product: weight bytes streamed per second by the decode kernel and the previous path.</summary>
internal sealed record MatVecRow(string Type, string Shape, int Rows, int Columns, int Threads, int Tokens, double NewGBps, double OldGBps, double NewMicroseconds, double OldMicroseconds, double? WorkersGBps, double? CpuGBps, double? OldCpuGBps)
{
    public double Speedup => NewGBps / OldGBps;
}

/// <summary>All shapes and what they reached, with the machine load when measured.</summary>
internal sealed record MatVecResult(string Command, string Load, IReadOnlyList<MatVecRow> Rows);

/// <summary>
/// Times <c>y = W·a</c> for the projection shapes of the 374M speed model (q|k|v, attention out, gate|up, down, the
/// output head) in Q8_0, Q4_0 and Q4_K, through the public <see cref="QuantizedMatMul"/> entry the model uses. Enough
/// copies of each matrix are cycled through that the weights come from memory, as in decode, not from cache.
/// </summary>
internal static partial class MatVecProbe
{
    public static readonly (string Name, int Rows, int Columns)[] Shapes =
    [
        ("qkv", 3072, 1024), ("attn-out", 1024, 1024), ("gate|up", 5632, 1024), ("down", 1024, 2816), ("head", 32000, 1024),
    ];

    public static MatVecResult Run(IReadOnlyList<GgufTensorType> types, IReadOnlyList<int> threadCounts, int tokens, double seconds, bool inCache, string command, Action<string> progress)
    {
        var rows = new List<MatVecRow>();
        var random = new Random(1);
        foreach (var type in types)
        {
            foreach (var (name, r, c) in Shapes)
            {
                var matrices = Make(type, r, c, random, inCache);
                long bytes = matrices[0].ByteSize;
                float[] x = new float[tokens * c];
                for (int i = 0; i < x.Length; i++) x[i] = (float)((random.NextDouble() * 2) - 1);
                var a32 = new Q8Activations();
                var a256 = new Q8KActivations();
                bool k = type != GgufTensorType.Q8_0 && type != GgufTensorType.Q4_0;
                if (k) a256.Quantize(x, tokens, c); else a32.Quantize(x, tokens, c);
                var y = new float[tokens * r];
                int next = 0;
                void Once(int threads)
                {
                    var m = matrices[next++ % matrices.Length];
                    if (k) QuantizedMatMul.Multiply(m, a256, y, KernelIsa.Avx512, threads, r, 0);
                    else QuantizedMatMul.Multiply(m, a32, y, KernelIsa.Avx512, threads);
                }
                foreach (int threads in threadCounts)
                {
                    double Time(bool decodeKernel, bool workers)
                    {
                        (KernelSettings.DecodeKernel, KernelSettings.PersistentWorkers) = (decodeKernel, workers);
                        try { return MedianSeconds(() => Once(threads), seconds); }
                        finally { (KernelSettings.DecodeKernel, KernelSettings.PersistentWorkers) = (true, false); }
                    }
                    double freshCpu = 0, oldCpu = 0;
                    double fresh = Time(true, false), old = Time(false, false);
                    if (threads == 1 && OperatingSystem.IsLinux())
                    {
                        // CPU seconds of the calling thread: on a loaded machine the wall clock counts other processes' turns too.
                        KernelSettings.DecodeKernel = true;
                        freshCpu = MedianCpuSeconds(() => Once(1), seconds);
                        KernelSettings.DecodeKernel = false;
                        oldCpu = MedianCpuSeconds(() => Once(1), seconds);
                        KernelSettings.DecodeKernel = true;
                    }
                    double? pooled = threads > 1 ? bytes / Time(true, true) / 1e9 : null;
                    var row = new MatVecRow(type.ToString(), name, r, c, threads, tokens, bytes / fresh / 1e9, bytes / old / 1e9, fresh * 1e6, old * 1e6, pooled, freshCpu > 0 ? bytes / freshCpu / 1e9 : null, oldCpu > 0 ? bytes / oldCpu / 1e9 : null);
                    rows.Add(row);
                    progress($"{row.Type,-5} {row.Shape,-9} {r}x{c} threads {threads}: new {row.NewGBps:F1} GB/s ({row.NewMicroseconds:F0} µs), previous {row.OldGBps:F1} GB/s ({row.OldMicroseconds:F0} µs){(pooled is null ? "" : $", new on persistent workers {pooled:F1} GB/s")}{(row.CpuGBps is { } cpu ? $"; per CPU second new {cpu:F1}, previous {row.OldCpuGBps:F1} GB/s" : "")}");
                }
            }
        }
        return new MatVecResult(command, Load(), rows);
    }

    /// <summary>Enough copies of a random matrix that cycling through them exceeds the caches (≥ 96 MB), or one (in cache: the kernel's arithmetic alone).</summary>
    private static QuantizedMatrix[] Make(GgufTensorType type, int rows, int columns, Random random, bool inCache)
    {
        if (QuantizedMatrix.CanQuantizeTo(type))
        {
            var values = new float[(long)rows * columns];
            for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2) - 1);
            var first = QuantizedMatrix.Quantize(type, rows, columns, values);
            return inCache ? [first] : Copies(first, () => QuantizedMatrix.FromGgufBlocks(type, rows, columns, first.ToGgufBlocks()));
        }
        // k-quants: random codes with sane block scales (d, dmin at the start of each block as half bits).
        int blockBytes = QuantizedMatrix.BlockBytes(type);
        var blocks = new byte[(long)rows * columns / 256 * blockBytes];
        random.NextBytes(blocks);
        for (long b = 0; b < blocks.Length; b += blockBytes)
        {
            int at = type == GgufTensorType.Q6_K ? blockBytes - 2 : 0;
            blocks[b + at] = 0x00; blocks[b + at + 1] = 0x20;
            if (type != GgufTensorType.Q6_K) { blocks[b + 2] = 0x00; blocks[b + 3] = 0x1C; }
        }
        var one = QuantizedMatrix.FromGgufBlocks(type, rows, columns, blocks);
        return inCache ? [one] : Copies(one, () => QuantizedMatrix.FromGgufBlocks(type, rows, columns, blocks));
    }

    private static QuantizedMatrix[] Copies(QuantizedMatrix first, Func<QuantizedMatrix> copy)
    {
        int count = (int)Math.Clamp((96L << 20) / first.ByteSize + 1, 2, 256);
        var result = new QuantizedMatrix[count];
        result[0] = first;
        for (int i = 1; i < count; i++) result[i] = copy();
        return result;
    }

    // Median of 5 rounds, each averaging enough calls to last seconds/5.
    private static double MedianSeconds(Action once, double seconds)
    {
        for (int i = 0; i < 20; i++) once();
        var rounds = new double[5];
        for (int round = 0; round < rounds.Length; round++)
        {
            long start = Stopwatch.GetTimestamp();
            int calls = 0;
            while (Stopwatch.GetElapsedTime(start).TotalSeconds < seconds / rounds.Length || calls < 5)
            {
                once();
                calls++;
            }
            rounds[round] = Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
        }
        Array.Sort(rounds);
        return rounds[rounds.Length / 2];
    }

    /// <summary>Median thread CPU seconds per call of <paramref name="once"/> over 5 rounds filling <paramref name="seconds"/>.</summary>
    internal static double MedianCpuSeconds(Action once, double seconds)
    {
        var rounds = new double[5];
        for (int round = 0; round < rounds.Length; round++)
        {
            long start = Stopwatch.GetTimestamp();
            double cpu0 = ProcessCpuClock.ThreadSeconds();
            int calls = 0;
            while (Stopwatch.GetElapsedTime(start).TotalSeconds < seconds / rounds.Length || calls < 5)
            {
                once();
                calls++;
            }
            rounds[round] = (ProcessCpuClock.ThreadSeconds() - cpu0) / calls;
        }
        Array.Sort(rounds);
        return rounds[rounds.Length / 2];
    }

    private static string Load()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }

    public static string Render(MatVecResult result)
    {
        var text = new StringBuilder();
        text.AppendLine("# Matrix-vector kernels: weight bytes streamed per second").AppendLine();
        text.AppendLine($"`{result.Command}` · load average {result.Load} · new = the 16-blocks-per-step decode kernels (Q8_0, Q4_0) and the wide AVX-512 k-quant dots, previous = the row dots before them; forks by Parallel.For unless marked persistent workers").AppendLine();
        text.AppendLine("| type | shape | rows×cols | threads | tokens | new GB/s | previous GB/s | new ÷ previous | new µs | new, persistent workers GB/s | new GB per CPU s | previous GB per CPU s |");
        text.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in result.Rows)
            text.AppendLine($"| {r.Type} | {r.Shape} | {r.Rows}×{r.Columns} | {r.Threads} | {r.Tokens} | {r.NewGBps:F1} | {r.OldGBps:F1} | {r.Speedup:F2}× | {r.NewMicroseconds:F0} | {(r.WorkersGBps is { } g ? g.ToString("F1") : "—")} | {(r.CpuGBps is { } c ? c.ToString("F1") : "—")} | {(r.OldCpuGBps is { } o ? o.ToString("F1") : "—")} |");
        return text.ToString();
    }
}
