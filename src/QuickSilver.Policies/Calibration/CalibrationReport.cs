namespace QuickSilver.Policies.Calibration;

/// <summary>What a calibration chose and why: the percentile behind each threshold and, after a sweep, every grid point.</summary>
public sealed class CalibrationReport
{
    /// <summary>The model depth the record came from.</summary>
    public required int NumLayers { get; init; }

    /// <summary>The percentile choice behind each calibrated threshold.</summary>
    public required IReadOnlyList<ThresholdChoice> Thresholds { get; init; }

    /// <summary>The grid sweep that refined the thresholds, if one was run.</summary>
    public GridSweepResult? Sweep { get; init; }
}
