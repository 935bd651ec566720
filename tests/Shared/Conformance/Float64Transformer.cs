using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// A float64 decoder-only transformer written from the models' definitions and driven by the case's own config (not by
/// the engine's loader), sharing no maths with the engine: weights come from llama.cpp's decoders (<see cref="GgmlWeights"/>)
/// under the GGUF converter's tensor names, attention is the textbook causal softmax. One forward covers every family:
/// RMSNorm or LayerNorm (GGUF's Gemma norms already hold 1 + w), learned positions or RoPE (adjacent pairs for llama.cpp's
/// <c>llama</c>, halves otherwise; partial rotary; linear, llama3 and longrope scaling; Gemma 3's local base), q/k/v biases,
/// per-head q/k RMSNorm, fused q|k|v and gate|up, GQA, sliding windows per layer, attention scale and soft-cap, the
/// post-norm sandwich, SwiGLU/GeGLU/GELU MLPs, √d embedding scale, tied heads and final soft-cap.
/// With <c>roundLikeLlamaCpp</c> every matmul input is first rounded as llama.cpp's CPU kernels round it for that weight
/// type (<see cref="LlamaCppActivations"/>) and GELU goes through ggml's fp16 table, which reproduces llama.cpp's numerics.
/// </summary>
internal static class Float64Transformer
{
    /// <summary>Logits <c>[position][token]</c> for <paramref name="tokens"/> at positions 0..n-1.</summary>
    /// <param name="c">The architecture (its config is the truth the file was written from).</param>
    /// <param name="gguf">The file: the F32 original or any quantization of it.</param>
    /// <param name="tokens">Token ids.</param>
    /// <param name="roundLikeLlamaCpp">Round matmul inputs and GELU as llama.cpp does, instead of exact arithmetic.</param>
    public static double[][] Logits(ArchitectureCase c, string gguf, IReadOnlyList<int> tokens, bool roundLikeLlamaCpp = false)
    {
        ModelConfig m = c.Config;
        GgufFile file = GgufFile.Read(gguf);
        bool adjacentPairs = ArchitectureGgufWriter.RotatesAdjacentPairs(c.GgufArchitecture);
        int n = tokens.Count, d = m.HiddenSize, hd = m.HeadDim, qd = m.NumHeads * hd, kvd = m.NumKvHeads * hd, group = m.NumHeads / m.NumKvHeads;
        bool layerNorm = m.Norm == NormKind.LayerNorm;
        Float64Matrix Matrix(string name) => Float64Matrix.Read(file, name, roundLikeLlamaCpp);
        double[]? Vector(string name) => GgmlWeights.TryRead(file, name);
        double[] Norm(double[] v, string name) => layerNorm
            ? LayerNorm(v, GgmlWeights.Read(file, name + ".weight"), GgmlWeights.Read(file, name + ".bias"), m.NormEps)
            : RmsNorm(v, GgmlWeights.Read(file, name + ".weight"), m.NormEps);
        Func<double, double> gelu = roundLikeLlamaCpp ? GeluLikeLlamaCpp : Gelu;

        double[] embedding = GgmlWeights.Read(file, "token_embd.weight");
        double[]? positions = m.Positions == PositionEncodingKind.Learned ? GgmlWeights.Read(file, "position_embd.weight") : null;
        var x = new double[n][];
        for (int t = 0; t < n; t++)
        {
            x[t] = [.. embedding.AsSpan(tokens[t] * d, d).ToArray().Select(v => v * m.EmbeddingScale)];
            if (positions is not null) Add(x[t], positions.AsSpan(t * d, d).ToArray());
        }

        for (int l = 0; l < m.NumLayers; l++)
        {
            string p = $"blk.{l}.";
            Float64Matrix wq, wk, wv;
            double[]? bq, bk, bv;
            if (c.Fused)
            {
                Float64Matrix qkv = Matrix(p + "attn_qkv.weight");
                (wq, wk, wv) = (qkv.Slice(0, qd), qkv.Slice(qd, kvd), qkv.Slice(qd + kvd, kvd));
                double[]? b = Vector(p + "attn_qkv.bias");
                (bq, bk, bv) = b is null ? (null, null, null) : (b[..qd], b[qd..(qd + kvd)], b[(qd + kvd)..]);
            }
            else
            {
                (wq, wk, wv) = (Matrix(p + "attn_q.weight"), Matrix(p + "attn_k.weight"), Matrix(p + "attn_v.weight"));
                (bq, bk, bv) = (Vector(p + "attn_q.bias"), Vector(p + "attn_k.bias"), Vector(p + "attn_v.bias"));
            }
            Float64Matrix wo = Matrix(p + "attn_output.weight");
            double[]? bo = Vector(p + "attn_output.bias");
            double[]? qNorm = Vector(p + "attn_q_norm.weight"), kNorm = Vector(p + "attn_k_norm.weight");
            Rotary? rope = m.Positions == PositionEncodingKind.Rotary ? Rotary.ForLayer(m, l, adjacentPairs) : null;
            int? window = m.WindowOf(l);
            double scale = m.AttentionScale ?? (1 / Math.Sqrt(hd));

            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                double[] h = Norm(x[t], p + "attn_norm");
                (q[t], k[t], v[t]) = (wq.Apply(h, bq), wk.Apply(h, bk), wv.Apply(h, bv));
                if (qNorm is not null) PerHeadRmsNorm(q[t], qNorm, m.NormEps);
                if (kNorm is not null) PerHeadRmsNorm(k[t], kNorm!, m.NormEps);
                rope?.Apply(q[t], hd, t);
                rope?.Apply(k[t], hd, t);
            }
            for (int t = 0; t < n; t++)
            {
                var attended = new double[qd];
                int first = window is { } w ? Math.Max(0, t - w + 1) : 0;
                for (int hq = 0; hq < m.NumHeads; hq++)
                {
                    int hk = hq / group;
                    var scores = new double[t + 1 - first];
                    for (int s = first; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) dot += q[t][(hq * hd) + i] * k[s][(hk * hd) + i];
                        dot *= scale;
                        if (m.AttentionSoftCap > 0) dot = m.AttentionSoftCap * Math.Tanh(dot / m.AttentionSoftCap);
                        scores[s - first] = dot;
                    }
                    double max = scores.Max(), sum = 0;
                    for (int s = 0; s < scores.Length; s++) sum += scores[s] = Math.Exp(scores[s] - max);
                    for (int s = first; s <= t; s++)
                        for (int i = 0; i < hd; i++) attended[(hq * hd) + i] += scores[s - first] / sum * v[s][(hk * hd) + i];
                }
                double[] o = wo.Apply(attended, bo);
                if (m.PostNorms) o = RmsNorm(o, GgmlWeights.Read(file, p + "post_attention_norm.weight"), m.NormEps);
                Add(x[t], o);
            }

            Float64Matrix? gate = null, up;
            Float64Matrix down = Matrix(p + "ffn_down.weight");
            int inner = m.IntermediateSize;
            if (m.FeedForward == FeedForwardKind.GeluTanh) up = Matrix(p + "ffn_up.weight");
            else if (c.Fused)
            {
                Float64Matrix gateUp = Matrix(p + "ffn_up.weight");
                (gate, up) = (gateUp.Slice(0, inner), gateUp.Slice(inner, inner));
            }
            else (gate, up) = (Matrix(p + "ffn_gate.weight"), Matrix(p + "ffn_up.weight"));
            double[]? bu = Vector(p + "ffn_up.bias"), bd = Vector(p + "ffn_down.bias");
            for (int t = 0; t < n; t++)
            {
                double[] h = Norm(x[t], p + "ffn_norm");
                double[] a = up.Apply(h, bu);
                if (gate is null) a = [.. a.Select(gelu)];
                else
                {
                    double[] g = gate.Apply(h);
                    for (int i = 0; i < inner; i++) a[i] *= m.FeedForward == FeedForwardKind.GeGlu ? gelu(g[i]) : g[i] / (1 + Math.Exp(-g[i]));
                }
                double[] f = down.Apply(a, bd);
                if (m.PostNorms) f = RmsNorm(f, GgmlWeights.Read(file, p + "post_ffw_norm.weight"), m.NormEps);
                Add(x[t], f);
            }
        }

        Float64Matrix head = Matrix(file.TryGetTensor("output.weight", out _) ? "output.weight" : "token_embd.weight");
        var logits = new double[n][];
        for (int t = 0; t < n; t++)
        {
            logits[t] = head.Apply(Norm(x[t], "output_norm"));
            if (m.FinalLogitSoftCap > 0) logits[t] = [.. logits[t].Select(z => m.FinalLogitSoftCap * Math.Tanh(z / m.FinalLogitSoftCap))];
        }
        return logits;
    }

    private static double[] RmsNorm(double[] x, double[] weight, double eps)
    {
        double meanSquare = x.Sum(v => v * v) / x.Length;
        double scale = 1 / Math.Sqrt(meanSquare + eps);
        return [.. x.Select((v, i) => v * scale * weight[i])];
    }

    private static double[] LayerNorm(double[] x, double[] weight, double[] bias, double eps)
    {
        double mean = x.Average();
        double variance = x.Sum(v => (v - mean) * (v - mean)) / x.Length;
        double scale = 1 / Math.Sqrt(variance + eps);
        return [.. x.Select((v, i) => ((v - mean) * scale * weight[i]) + bias[i])];
    }

    /// <summary>RMSNorm of each head's slice of <paramref name="x"/> in place, with one weight per head dimension.</summary>
    private static void PerHeadRmsNorm(double[] x, double[] weight, double eps)
    {
        int hd = weight.Length;
        for (int h = 0; h < x.Length / hd; h++)
        {
            double[] normed = RmsNorm(x[(h * hd)..((h + 1) * hd)], weight, eps);
            normed.CopyTo(x, h * hd);
        }
    }

    /// <summary>GELU, tanh approximation (GPT-2's gelu_new, Gemma's gelu_pytorch_tanh, ggml's gelu).</summary>
    private static double Gelu(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x))));

    /// <summary>ggml's CPU GELU (GGML_GELU_FP16): 0 below −10, identity above 10, else fp16(gelu(fp16(x))) from its table.</summary>
    private static double GeluLikeLlamaCpp(double x)
    {
        if (x <= -10) return 0;
        if (x >= 10) return x;
        float h = (float)(Half)(float)x;
        float g = 0.5f * h * (1f + MathF.Tanh(0.7978845608028654f * h * (1f + (0.044715f * h * h))));
        return (float)(Half)g;
    }

    private static void Add(double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) x[i] += y[i];
    }

    /// <summary>
    /// RoPE of one layer in llama.cpp's form: the angle of pair i at position p is p · scale · base^(−2i/n_rot) / factor_i,
    /// cos and sin multiplied by the attention factor; pairs are (2i, 2i+1) or (i, i + n_rot/2); dims ≥ n_rot pass through.
    /// </summary>
    private sealed record Rotary(int Width, double Base, double PositionScale, float[]? Factors, double AttentionFactor, bool AdjacentPairs)
    {
        /// <summary>Gemma 3's local layers use their own base and no scaling; every other layer the config's base and scaling.</summary>
        public static Rotary ForLayer(ModelConfig m, int layer, bool adjacentPairs)
        {
            bool local = m.RopeLocalTheta is not null && m.IsLocalLayer(layer);
            RopeScaling? scaling = local ? null : m.RopeScaling;
            return new Rotary(m.RotatedWidth, local ? m.RopeLocalTheta!.Value : m.RopeTheta, scaling?.PositionScale ?? 1,
                scaling?.FactorsFor(m.MaxPositions), scaling?.AttentionFactor ?? 1, adjacentPairs);
        }

        public void Apply(double[] vector, int headDim, int position)
        {
            int half = Width / 2;
            for (int head = 0; head < vector.Length / headDim; head++)
            {
                for (int i = 0; i < half; i++)
                {
                    double angle = position * PositionScale * Math.Pow(Base, -2.0 * i / Width) / (Factors?[i] ?? 1);
                    (double sin, double cos) = Math.SinCos(angle);
                    (sin, cos) = (sin * AttentionFactor, cos * AttentionFactor);
                    int at = head * headDim, ia = at + (AdjacentPairs ? 2 * i : i), ib = at + (AdjacentPairs ? (2 * i) + 1 : i + half);
                    double a = vector[ia], b = vector[ib];
                    vector[ia] = (a * cos) - (b * sin);
                    vector[ib] = (a * sin) + (b * cos);
                }
            }
        }
    }
}
