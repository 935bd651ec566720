using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Cli.Kernels;

/// <summary>
/// One projection shape of the 374M model: CPU time per product of the ordinary Q8_0 decode kernel and of the bit-plane
/// kernels at 8, 4 and 2 bits, on one thread (thread CPU seconds, so other processes' turns on a loaded machine do not
/// count), with the weights cycled through enough copies to come from memory.
/// </summary>
internal sealed record PlaneProbeRow(string Shape, int Rows, int Columns, double Q8Microseconds, double Bits8Microseconds, double Bits4Microseconds, double Bits2Microseconds)
{
    /// <summary>The 4-bit pass with the kernel called row by row (<see cref="PlaneMatMul.FourRowsPerCall"/> off): what four rows per call saves.</summary>
    public double Bits4OneRowMicroseconds { get; init; }
}

/// <summary><c>quicksilver planes --probe</c>: the plane kernels against the Q8_0 decode kernel, per CPU second.</summary>
internal static class PlaneProbe
{
    public static IReadOnlyList<PlaneProbeRow> Run(double seconds, bool inCache, Action<string> progress)
    {
        var random = new Random(1);
        var rows = new List<PlaneProbeRow>();
        foreach (var (name, r, c) in MatVecProbe.Shapes)
        {
            var values = new float[(long)r * c];
            for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2) - 1);
            var first = QuantizedMatrix.Quantize(GgufTensorType.Q8_0, r, c, values);
            int count = inCache ? 1 : (int)Math.Clamp((160L << 20) / first.ByteSize + 1, 2, 64); // in cache: the arithmetic alone
            var q8 = new QuantizedMatrix[count];
            var planes = new BitPlaneMatrix[count];
            for (int i = 0; i < count; i++)
            {
                q8[i] = i == 0 ? first : QuantizedMatrix.FromGgufBlocks(GgufTensorType.Q8_0, r, c, first.ToGgufBlocks());
                planes[i] = BitPlaneMatrix.FromQ8_0(q8[i]);
            }
            var x = new float[c];
            for (int i = 0; i < c; i++) x[i] = (float)((random.NextDouble() * 2) - 1);
            var a8 = new Q8Activations();
            a8.Quantize(x, 1, c);
            var ap = new PlaneActivations();
            ap.Quantize(x, 1, c);
            var y = new float[r];
            foreach (var m in planes) PlaneMatMul.Multiply(m, ap, [2], y, KernelIsa.Avx512, 1, r, 0); // makes each copy's top plane
            int next = 0;
            double q8Time = MedianCpuSeconds(() => QuantizedMatMul.Multiply(q8[next++ % count], a8, y, KernelIsa.Avx512, 1), seconds);
            double Planes(int bits) => MedianCpuSeconds(() => PlaneMatMul.Multiply(planes[next++ % count], ap, [bits], y, KernelIsa.Avx512, 1, r, 0), seconds);
            double oneRow;
            PlaneMatMul.FourRowsPerCall = false;
            try { oneRow = Planes(4); }
            finally { PlaneMatMul.FourRowsPerCall = true; }
            var row = new PlaneProbeRow(name, r, c, q8Time * 1e6, Planes(8) * 1e6, Planes(4) * 1e6, Planes(2) * 1e6) { Bits4OneRowMicroseconds = oneRow * 1e6 };
            rows.Add(row);
            progress(string.Create(CultureInfo.InvariantCulture, $"{name} {r}x{c}: Q8_0 {row.Q8Microseconds:F0} µs, planes 8/4/2 bits {row.Bits8Microseconds:F0}/{row.Bits4Microseconds:F0}/{row.Bits2Microseconds:F0} µs per CPU"));
        }
        return rows;
    }

    public static string Render(IReadOnlyList<PlaneProbeRow> rows, string load, bool inCache)
    {
        static string F(double v, int d) => v.ToString($"F{d}", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine($"Kernel probe: one thread, CPU µs per product ({(inCache ? "one copy of each matrix, so the weights come from cache where they fit" : "weights from memory")}), load average {load}.");
        sb.AppendLine();
        sb.AppendLine("| shape | rows×cols | Q8_0 kernel µs | planes 8-bit µs | ÷ Q8_0 | planes 4-bit µs | 4 ÷ 8 | 4-bit, one row per call µs | planes 2-bit µs | 2 ÷ 8 |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine($"| {r.Shape} | {r.Rows}×{r.Columns} | {F(r.Q8Microseconds, 0)} | {F(r.Bits8Microseconds, 0)} | {F(r.Bits8Microseconds / r.Q8Microseconds, 2)} | {F(r.Bits4Microseconds, 0)} | {F(r.Bits4Microseconds / r.Bits8Microseconds, 2)} | {F(r.Bits4OneRowMicroseconds, 0)} | {F(r.Bits2Microseconds, 0)} | {F(r.Bits2Microseconds / r.Bits8Microseconds, 2)} |");
        return sb.ToString();
    }

    // Warm-up first (the plane kernels' first calls repack and tier up), then MatVecProbe's thread-CPU median.
    private static double MedianCpuSeconds(Action once, double seconds)
    {
        for (int i = 0; i < 10; i++) once();
        return MatVecProbe.MedianCpuSeconds(once, seconds);
    }
}
