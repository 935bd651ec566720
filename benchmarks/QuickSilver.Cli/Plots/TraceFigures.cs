using QuickSilver.Engine.Runtime;
using ScottPlot;

namespace QuickSilver.Cli.Plots;

/// <summary>The paper-style figures of one routed pass, drawn with ScottPlot (x = token position, y = layer).</summary>
internal static class TraceFigures
{
    /// <summary>Active (1), halted (0) or absorbed by fusion (0.5) for each token at each layer: the paper's Figure 2 timeline.</summary>
    public static double[,] HaltingGrid(TokenTrace trace, int layers)
    {
        int t = trace.HaltLayer.Length;
        var grid = new double[layers, t];
        for (int i = 0; i < t; i++)
            for (int l = 0; l < layers; l++)
            {
                bool halted = trace.HaltLayer[i] >= 0 && l >= trace.HaltLayer[i];
                bool fused = trace.FusionLayer[i] >= 0 && l >= trace.FusionLayer[i];
                grid[l, i] = fused ? 0.5 : halted ? 0 : 1;
            }
        return grid;
    }

    public static double[,] KvGrid(TokenTrace trace, int layers)
    {
        int t = trace.HaltLayer.Length;
        var grid = new double[layers, t];
        for (int i = 0; i < t; i++) for (int l = 0; l < layers; l++) grid[l, i] = trace.KvWritten[i, l] ? 1 : 0;
        return grid;
    }

    /// <summary>Bits each token computes with at each layer: 32 (full precision) before the decision layer, its assigned width after, 0 once it stopped running.</summary>
    public static double[,] BitsGrid(TokenTrace trace, int layers, int decisionLayer)
    {
        var running = HaltingGrid(trace, layers);
        int t = trace.HaltLayer.Length;
        var grid = new double[layers, t];
        for (int i = 0; i < t; i++)
            for (int l = 0; l < layers; l++)
                grid[l, i] = running[l, i] < 1 ? 0 : l >= decisionLayer ? trace.Bits[i] : 32;
        return grid;
    }

    /// <summary>A discrete level of a categorical heatmap: the grid value, its label on the colour bar, its colour.</summary>
    public readonly record struct Level(double Value, string Label, Color Color);

    /// <summary>The halting timeline's levels.</summary>
    public static IReadOnlyList<Level> HaltingLevels { get; } =
        [new(0, "halted", Colors.DarkSlateGray), new(0.5, "absorbed by fusion", Colors.Orange), new(1, "running", Colors.SeaGreen)];

    /// <summary>The K/V write map's levels.</summary>
    public static IReadOnlyList<Level> KvLevels { get; } = [new(0, "skipped", Colors.FireBrick), new(1, "written", Colors.SteelBlue)];

    /// <summary>The bits heatmap's levels (the paper's Figure 13 colours: red 2, orange 4, green 8, blue full precision).</summary>
    public static IReadOnlyList<Level> BitLevels { get; } =
    [
        new(0, "not running", Colors.LightGray), new(2, "2-bit", Colors.Red), new(4, "4-bit", Colors.Orange),
        new(8, "8-bit", Colors.Green), new(32, "full precision", Colors.RoyalBlue),
    ];

    /// <summary>
    /// A heatmap of discrete values: one colour per level, the colour bar labelled with each level's name, and, when every
    /// cell has the same level, the title says so (a uniform map otherwise reads as "everything" or "nothing").
    /// </summary>
    /// <param name="uniformNote">What a uniform map means, e.g. "nothing fired: every token ran every block".</param>
    public static void LevelMap(string path, double[,] layerByToken, IReadOnlyList<Level> levels, string title, string colorLabel, string uniformNote, int width, int height)
    {
        int rows = layerByToken.GetLength(0), cols = layerByToken.GetLength(1);
        // A value no level names (a custom bit width) still gets its own labelled colour.
        var extra = new[] { Colors.Purple, Colors.Brown, Colors.Teal, Colors.Olive, Colors.Navy };
        var all = levels.ToList();
        foreach (double v in layerByToken)
            if (all.All(l => l.Value != v)) all.Add(new(v, v.ToString(System.Globalization.CultureInfo.InvariantCulture), extra[(all.Count - levels.Count) % extra.Length]));
        levels = all;
        // Cells hold the level's index, so the palette has exactly one colour per level.
        var indexes = new double[rows, cols];
        var seen = new HashSet<int>();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                int index = IndexOf(levels, layerByToken[r, c]);
                indexes[r, c] = index;
                seen.Add(index);
            }
        if (seen.Count == 1) title += $"\n{uniformNote} ({levels[seen.Single()].Label} everywhere)";
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(Flip(indexes));
        heatmap.Position = new CoordinateRect(0, Math.Max(cols - 1, 1), 1, Math.Max(rows, 2));
        heatmap.Colormap = new LevelColormap([.. levels.Select(l => l.Color)]);
        heatmap.ManualRange = new ScottPlot.Range(-0.5, levels.Count - 0.5); // index k is the middle of band k, where its tick goes
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = colorLabel;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < levels.Count; i++) ticks.AddMajor(i, levels[i].Label);
        bar.Axis.TickGenerator = ticks;
        plot.Title(title);
        plot.XLabel("token position");
        plot.YLabel("block (1 = first)");
        plot.SavePng(path, width, height);
    }

    private static int IndexOf(IReadOnlyList<Level> levels, double value)
    {
        for (int i = 0; i < levels.Count; i++) if (levels[i].Value == value) return i;
        throw new ArgumentException($"Value {value} is not one of the levels {string.Join(", ", levels.Select(l => l.Value))}.", nameof(value));
    }

    public static void Heatmap(string path, double[,] layerByToken, string title, string colorLabel, int width, int height)
    {
        var plot = new Plot();
        int rows = layerByToken.GetLength(0), cols = layerByToken.GetLength(1);
        var heatmap = plot.Add.Heatmap(Flip(layerByToken));
        heatmap.Position = new CoordinateRect(0, Math.Max(cols - 1, 1), 1, Math.Max(rows, 2)); // ScottPlot places the corner cells' centres here: cells centre on token positions and blocks 1..L
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = colorLabel;
        plot.Title(title);
        plot.XLabel("token position");
        plot.YLabel("block (1 = first)");
        plot.SavePng(path, width, height);
    }

    /// <summary>Tokens as dots per layer; each fusion drawn as a line from the absorbed token to its super-token at the fusion layer.</summary>
    public static void FusionFlow(string path, TokenTrace trace, int layers, int width, int height)
    {
        var plot = new Plot();
        int t = trace.HaltLayer.Length;
        var grid = HaltingGrid(trace, layers);
        var xs = new List<double>();
        var ys = new List<double>();
        for (int i = 0; i < t; i++) for (int l = 0; l < layers; l++) if (grid[l, i] == 1) { xs.Add(i); ys.Add(l + 1); }
        if (xs.Count > 0)
        {
            var active = plot.Add.Markers(xs.ToArray(), ys.ToArray());
            active.LegendText = "running";
        }
        int fusions = 0;
        for (int i = 0; i < t; i++)
        {
            if (trace.FusedInto[i] < 0) continue;
            double layer = trace.FusionLayer[i];
            var line = plot.Add.Line(i, layer, trace.FusedInto[i], layer + 1);
            line.LineWidth = 2;
            line.Color = Colors.OrangeRed;
            fusions++;
        }
        plot.Title($"Fusion flow: {fusions} tokens absorbed into super-tokens");
        plot.XLabel("token position");
        plot.YLabel("block (1 = first)");
        plot.ShowLegend();
        plot.SavePng(path, width, height);
    }

    /// <summary>Histogram of the logit-lens entropy at each layer where it was computed, one outline per layer; <paramref name="source"/> says which run the entropies come from.</summary>
    public static void EntropyHistograms(string path, TokenTrace trace, int layers, int width, int height, string source, int bins = 30)
    {
        var plot = new Plot();
        int t = trace.HaltLayer.Length;
        var all = new List<double>();
        for (int i = 0; i < t; i++) for (int l = 0; l < layers; l++) if (!float.IsNaN(trace.Entropy[i, l])) all.Add(trace.Entropy[i, l]);
        if (all.Count > 0)
        {
            double min = all.Min(), max = all.Max();
            double span = max > min ? max - min : 1;
            var centers = Enumerable.Range(0, bins).Select(b => min + (b + 0.5) * span / bins).ToArray();
            for (int l = 0; l < layers; l++)
            {
                var counts = new double[bins];
                int n = 0;
                for (int i = 0; i < t; i++)
                {
                    float e = trace.Entropy[i, l];
                    if (float.IsNaN(e)) continue;
                    counts[Math.Min(bins - 1, (int)((e - min) / span * bins))]++;
                    n++;
                }
                if (n == 0) continue;
                var line = plot.Add.ScatterLine(centers, counts);
                line.LegendText = $"layer {l + 1} (n={n})";
                line.LineWidth = 2;
            }
            plot.ShowLegend();
        }
        plot.Title(all.Count > 0 ? $"Logit-lens entropy per layer, {source}" : $"Logit-lens entropy per layer, {source}: none computed");
        plot.XLabel("entropy (nats)");
        plot.YLabel("tokens");
        plot.SavePng(path, width, height);
    }

    private static double[,] Flip(double[,] grid)
    {
        int rows = grid.GetLength(0), cols = grid.GetLength(1);
        var flipped = new double[rows, cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) flipped[rows - 1 - r, c] = grid[r, c];
        return flipped;
    }

    /// <summary>One colour per equal-width band of the range: ScottPlot's palettes map n colours onto n − 1 intervals, which shifts levels.</summary>
    private sealed class LevelColormap(Color[] colors) : IColormap
    {
        public string Name => "levels";

        public Color GetColor(double normalizedIntensity) =>
            colors[Math.Clamp((int)Math.Floor(normalizedIntensity * colors.Length), 0, colors.Length - 1)];
    }
}
