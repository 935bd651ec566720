using QuickSilver.Engine.Loading;

namespace QuickSilver.Testing.Conformance;

/// <summary>A weight matrix row-major [Rows, Columns] in float64, with its file type and whether inputs are rounded like llama.cpp's.</summary>
/// <param name="W">Values as llama.cpp decodes them.</param>
/// <param name="Rows">Output width.</param>
/// <param name="Type">Tensor type in the file (selects llama.cpp's activation rounding).</param>
/// <param name="Round">Round inputs as llama.cpp's CPU matmul for <paramref name="Type"/> does.</param>
internal sealed record Float64Matrix(double[] W, int Rows, GgufTensorType Type, bool Round)
{
    /// <summary>Input width.</summary>
    public int Columns => W.Length / Rows;

    /// <summary>Tensor <paramref name="name"/> of <paramref name="file"/>.</summary>
    public static Float64Matrix Read(GgufFile file, string name, bool round)
    {
        GgufTensorInfo info = file.Tensors.Single(t => t.Name == name);
        return new Float64Matrix(GgmlWeights.Read(file, name), (int)info.Shape[0], info.Type, round);
    }

    /// <summary>Rows [<paramref name="first"/>, first + <paramref name="count"/>): one part of a fused matrix (q|k|v, gate|up).</summary>
    public Float64Matrix Slice(int first, int count) => this with { W = W.AsSpan(first * Columns, count * Columns).ToArray(), Rows = count };

    /// <summary>y = W x (+ <paramref name="bias"/>).</summary>
    public double[] Apply(double[] x, double[]? bias = null)
    {
        if (x.Length != Columns) throw new ArgumentException($"Input of {x.Length} values for a matrix of {Columns} columns.", nameof(x));
        if (Round) x = LlamaCppActivations.Round(x, Type);
        var y = new double[Rows];
        for (int r = 0; r < Rows; r++)
        {
            double sum = 0;
            ReadOnlySpan<double> row = W.AsSpan(r * x.Length, x.Length);
            for (int c = 0; c < x.Length; c++) sum += row[c] * x[c];
            y[r] = sum + (bias?[r] ?? 0);
        }
        return y;
    }
}
