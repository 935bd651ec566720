using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Cli.Bench;

/// <summary>One matmul shape of a transformer layer and what it achieved.</summary>
internal sealed record MatmulShape(string Name, long Rows, long Inner, long Cols, double Flops, Summary Seconds)
{
    public double GflopsPerSecond => Flops / Seconds.Median / 1e9;
}

/// <summary>Raw matmul throughput on this machine for the shapes one layer runs, through the same call the model uses (torch.nn.functional.linear, float32).</summary>
internal sealed record MatmulResult(IReadOnlyList<MatmulShape> Shapes, double Flops, Summary Seconds)
{
    /// <summary>All shapes of one layer back to back: FLOPs / median seconds.</summary>
    public double GflopsPerSecond => Flops / Seconds.Median / 1e9;
}

internal static class MatmulProbe
{
    /// <summary>An action running the four matmul shapes once per layer (the projections' FLOPs of a whole dense pass), and those FLOPs.</summary>
    public static (Action Run, double Flops, IDisposable Tensors) ModelEquivalent(ModelConfig config, int tokens)
    {
        var scope = torch.NewDisposeScope();
        int d = config.HiddenSize, qkv = (config.NumHeads + 2 * config.NumKvHeads) * config.HeadDim, q = config.NumHeads * config.HeadDim;
        int up = config.FeedForward == FeedForwardKind.SwiGlu ? 2 * config.IntermediateSize : config.IntermediateSize;
        var shapes = new (long In, long Out)[] { (d, qkv), (q, d), (d, up), (config.IntermediateSize, d) };
        var inputs = shapes.Select(s => torch.randn(1, tokens, s.In)).ToArray();
        var weights = shapes.Select(s => RandomWeight(s.Out, s.In)).ToArray();
        double flops = config.NumLayers * shapes.Sum(s => 2.0 * tokens * s.In * s.Out);
        void Run()
        {
            using var noGrad = torch.no_grad();
            for (int l = 0; l < config.NumLayers; l++)
                for (int i = 0; i < shapes.Length; i++) { using var y = torch.nn.functional.linear(inputs[i], weights[i]); }
        }
        return (Run, flops, scope);
    }

    public static MatmulResult Measure(ModelConfig config, int tokens, int reps, Action<double>? progress = null)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        int d = config.HiddenSize, qkv = (config.NumHeads + 2 * config.NumKvHeads) * config.HeadDim, q = config.NumHeads * config.HeadDim;
        int up = config.FeedForward == FeedForwardKind.SwiGlu ? 2 * config.IntermediateSize : config.IntermediateSize;
        var shapes = new (string Name, long In, long Out)[]
        {
            ("qkv", d, qkv), ("attn-out", q, d), ("mlp-up", d, up), ("mlp-down", config.IntermediateSize, d),
        };
        var inputs = shapes.Select(s => torch.randn(1, tokens, s.In)).ToArray();
        var weights = shapes.Select(s => RandomWeight(s.Out, s.In)).ToArray();
        var perShape = shapes.Select(_ => new List<double>()).ToArray();
        var whole = new List<double>();
        void One(int i) { using var y = torch.nn.functional.linear(inputs[i], weights[i]); }
        for (int i = 0; i < shapes.Length; i++) One(i); // warm-up
        for (int r = 0; r < reps; r++)
        {
            double sum = 0;
            for (int i = 0; i < shapes.Length; i++)
            {
                int k = i;
                double s = Timing.Seconds(() => One(k));
                perShape[i].Add(s);
                sum += s;
            }
            whole.Add(sum);
            progress?.Invoke(r + 1);
        }
        var results = shapes.Select((s, i) => new MatmulShape(s.Name, tokens, s.In, s.Out, 2.0 * tokens * s.In * s.Out, Summary.Of(perShape[i]))).ToList();
        return new MatmulResult(results, results.Sum(r => r.Flops), Summary.Of(whole));
    }

    // The scale Scalar is held in a using local: one made inside the expression could be finalized during the native call.
    private static torch.Tensor RandomWeight(long outFeatures, long inFeatures)
    {
        using var scale = 0.02.ToScalar();
        return torch.randn(outFeatures, inFeatures).mul_(scale);
    }
}
