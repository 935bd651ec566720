using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// Row-stacked weights of different formats (e.g. a Q4_K_M file's Q4_K query beside its Q6_K value): each part runs on its
/// own and the outputs are concatenated, so a fused q|k|v projection works whatever the parts are.
/// </summary>
public sealed class StackedLinearWeight : LinearWeight
{
    private readonly LinearWeight[] _parts;
    private readonly bool _ownsParts;

    /// <summary>Stacks <paramref name="parts"/> (same input width).</summary>
    public StackedLinearWeight(IReadOnlyList<LinearWeight> parts, bool ownsParts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0 || parts.Any(p => p.InFeatures != parts[0].InFeatures))
            throw new ArgumentException("Need at least one part, all with the same input features.", nameof(parts));
        (_parts, _ownsParts) = (parts.ToArray(), ownsParts);
    }

    /// <inheritdoc />
    public override long OutFeatures => _parts.Sum(p => p.OutFeatures);

    /// <inheritdoc />
    public override long InFeatures => _parts[0].InFeatures;

    /// <inheritdoc />
    public override string Format => string.Join("+", _parts.Select(p => p.Format).Distinct());

    /// <inheritdoc />
    public override long StorageBytes => _parts.Sum(p => p.StorageBytes);

    /// <inheritdoc />
    public override torch.Tensor Apply(torch.Tensor x, torch.Tensor? bias = null)
    {
        using var scope = torch.NewDisposeScope();
        var y = torch.cat(_parts.Select(p => p.Apply(x)).ToArray(), -1); // (…, out)
        if (bias is not null) y = TensorScalars.Sum(y, bias);
        return y.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override torch.Tensor ToDense()
    {
        using var scope = torch.NewDisposeScope();
        return torch.cat(_parts.Select(p => p.ToDense()).ToArray(), 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override LinearWeight Rows(long start, long count)
    {
        long at = 0;
        var chosen = new List<LinearWeight>();
        foreach (var part in _parts)
        {
            long end = at + part.OutFeatures;
            if (at >= start && end <= start + count) chosen.Add(part);
            else if (end > start && at < start + count)
                throw new ArgumentException($"Rows [{start}, {start + count}) cut through a stacked part [{at}, {end}).", nameof(start));
            at = end;
        }
        return chosen.Count == 1 ? chosen[0].Rows(0, chosen[0].OutFeatures) : new StackedLinearWeight(chosen, ownsParts: false);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsParts) foreach (var part in _parts) part.Dispose();
    }
}
