namespace QuickSilver.Policies.Calibration;

/// <summary>Calibration cannot proceed: a needed distribution is empty, or a setting of the calibration is invalid. <see cref="Field"/> names the threshold or option at fault.</summary>
public sealed class CalibrationException : QuickSilverException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="field">The threshold or option at fault, such as "Halting.DriftThreshold" or "CalibrationOptions.DriftPercentile".</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public CalibrationException(string field, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(field);
        Field = field;
    }

    /// <summary>The threshold or option at fault.</summary>
    public string Field { get; }
}
