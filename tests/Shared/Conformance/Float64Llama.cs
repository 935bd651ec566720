using QuickSilver.Engine.Loading;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// A float64 Llama forward written from the model's definition, sharing no code with the engine: the weights come from
/// llama.cpp's decoders (<see cref="GgmlWeights"/>), attention is the textbook causal softmax, RoPE rotates adjacent
/// pairs (x[2i], x[2i+1]) by pos·base^(−2i/head_dim) as llama.cpp does for <c>llama</c> files, whose q/k rows the
/// converter stores interleaved. With <c>roundLikeLlamaCpp</c> every matmul input is first rounded as llama.cpp's CPU
/// kernels round it for that weight type (<see cref="LlamaCppActivations"/>), which reproduces llama.cpp's numerics.
/// </summary>
internal static class Float64Llama
{
    /// <summary>Logits <c>[position][token]</c> for <paramref name="tokens"/> at positions 0..n-1.</summary>
    /// <param name="gguf">The model file.</param>
    /// <param name="tokens">Token ids.</param>
    /// <param name="roundLikeLlamaCpp">Round matmul inputs as llama.cpp's kernels do, instead of exact arithmetic.</param>
    public static double[][] Logits(string gguf, IReadOnlyList<int> tokens, bool roundLikeLlamaCpp = false)
    {
        GgufFile file = GgufFile.Read(gguf);
        string a = file.Architecture ?? "llama";
        int d = (int)file.GetUInt32(a + ".embedding_length");
        int layers = (int)file.GetUInt32(a + ".block_count");
        int heads = (int)file.GetUInt32(a + ".attention.head_count");
        int kvHeads = file.TryGetUInt32(a + ".attention.head_count_kv", out uint kv) ? (int)kv : heads;
        double eps = file.GetFloat32(a + ".attention.layer_norm_rms_epsilon");
        double theta = file.TryGetFloat32(a + ".rope.freq_base", out float fb) ? fb : 10000.0;
        int headDim = d / heads, kvDim = kvHeads * headDim, group = heads / kvHeads;
        double[] embedding = GgmlWeights.Read(file, "token_embd.weight");
        Matrix head = file.TryGetTensor("output.weight", out _) ? Matrix.Read(file, "output.weight", roundLikeLlamaCpp) : Matrix.Read(file, "token_embd.weight", roundLikeLlamaCpp);
        int n = tokens.Count;

        var x = new double[n][];
        for (int t = 0; t < n; t++) x[t] = embedding.AsSpan(tokens[t] * d, d).ToArray();
        for (int l = 0; l < layers; l++)
        {
            string p = $"blk.{l}.";
            double[] attnNorm = GgmlWeights.Read(file, p + "attn_norm.weight");
            Matrix wq = Matrix.Read(file, p + "attn_q.weight", roundLikeLlamaCpp), wk = Matrix.Read(file, p + "attn_k.weight", roundLikeLlamaCpp);
            Matrix wv = Matrix.Read(file, p + "attn_v.weight", roundLikeLlamaCpp), wo = Matrix.Read(file, p + "attn_output.weight", roundLikeLlamaCpp);
            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                double[] h = RmsNorm(x[t], attnNorm, eps);
                q[t] = wq.Apply(h);
                k[t] = wk.Apply(h);
                v[t] = wv.Apply(h);
                Rope(q[t], t, headDim, theta);
                Rope(k[t], t, headDim, theta);
            }
            for (int t = 0; t < n; t++)
            {
                var attended = new double[d];
                for (int hq = 0; hq < heads; hq++)
                {
                    int hk = hq / group;
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < headDim; i++) dot += q[t][(hq * headDim) + i] * k[s][(hk * headDim) + i];
                        scores[s] = dot / Math.Sqrt(headDim);
                        max = Math.Max(max, scores[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) sum += scores[s] = Math.Exp(scores[s] - max);
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < headDim; i++) attended[(hq * headDim) + i] += scores[s] / sum * v[s][(hk * headDim) + i];
                }
                Add(x[t], wo.Apply(attended));
            }

            double[] ffnNorm = GgmlWeights.Read(file, p + "ffn_norm.weight");
            Matrix gate = Matrix.Read(file, p + "ffn_gate.weight", roundLikeLlamaCpp), up = Matrix.Read(file, p + "ffn_up.weight", roundLikeLlamaCpp);
            Matrix down = Matrix.Read(file, p + "ffn_down.weight", roundLikeLlamaCpp);
            int hidden = gate.Rows;
            for (int t = 0; t < n; t++)
            {
                double[] h = RmsNorm(x[t], ffnNorm, eps);
                double[] g = gate.Apply(h), u = up.Apply(h);
                for (int i = 0; i < hidden; i++) g[i] = g[i] / (1 + Math.Exp(-g[i])) * u[i];
                Add(x[t], down.Apply(g));
            }
        }
        double[] outputNorm = GgmlWeights.Read(file, "output_norm.weight");
        var logits = new double[n][];
        for (int t = 0; t < n; t++) logits[t] = head.Apply(RmsNorm(x[t], outputNorm, eps));
        return logits;
    }

    /// <summary>A weight matrix row-major [Rows, columns], with its file type and whether inputs are rounded like llama.cpp's.</summary>
    private sealed record Matrix(double[] W, int Rows, GgufTensorType Type, bool Round)
    {
        public static Matrix Read(GgufFile file, string name, bool round)
        {
            GgufTensorInfo info = file.Tensors.Single(t => t.Name == name);
            return new Matrix(GgmlWeights.Read(file, name), (int)info.Shape[0], info.Type, round);
        }

        /// <summary>y = W x.</summary>
        public double[] Apply(double[] x)
        {
            if (Round) x = LlamaCppActivations.Round(x, Type);
            var y = new double[Rows];
            int columns = x.Length;
            for (int r = 0; r < Rows; r++)
            {
                double sum = 0;
                ReadOnlySpan<double> row = W.AsSpan(r * columns, columns);
                for (int c = 0; c < columns; c++) sum += row[c] * x[c];
                y[r] = sum;
            }
            return y;
        }
    }

    private static double[] RmsNorm(double[] x, double[] weight, double eps)
    {
        double meanSquare = x.Sum(v => v * v) / x.Length;
        double scale = 1 / Math.Sqrt(meanSquare + eps);
        return [.. x.Select((v, i) => v * scale * weight[i])];
    }

    /// <summary>Rotates adjacent pairs of each head in place (llama.cpp's "normal" RoPE).</summary>
    private static void Rope(double[] vector, int position, int headDim, double theta)
    {
        for (int head = 0; head < vector.Length / headDim; head++)
        {
            for (int i = 0; i < headDim / 2; i++)
            {
                double angle = position * Math.Pow(theta, -2.0 * i / headDim);
                (double sin, double cos) = Math.SinCos(angle);
                int at = (head * headDim) + (2 * i);
                double a = vector[at], b = vector[at + 1];
                vector[at] = (a * cos) - (b * sin);
                vector[at + 1] = (a * sin) + (b * cos);
            }
        }
    }

    private static void Add(double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) x[i] += y[i];
    }
}
