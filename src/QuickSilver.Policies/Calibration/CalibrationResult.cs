using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace QuickSilver.Policies.Calibration;

/// <summary>A calibrated policy and the report of how it was chosen.</summary>
public sealed class CalibrationResult
{
    private static readonly JsonSerializerOptions ReportOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Creates a result.</summary>
    /// <param name="policy">The calibrated policy.</param>
    /// <param name="report">How it was chosen.</param>
    public CalibrationResult(QuickSilverPolicy policy, CalibrationReport report)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(report);
        Policy = policy;
        Report = report;
    }

    /// <summary>The calibrated policy.</summary>
    public QuickSilverPolicy Policy { get; }

    /// <summary>How it was chosen.</summary>
    public CalibrationReport Report { get; }

    /// <summary>Adopts a sweep's best point: the policy becomes that point's (named "calibrated") and the report records the sweep. Without a best point the policy is kept.</summary>
    /// <param name="sweep">A sweep run around this result's policy.</param>
    public CalibrationResult WithSweep(GridSweepResult sweep)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        var policy = sweep.Best?.Policy.Clone() ?? Policy.Clone();
        policy.Name = "calibrated";
        return new CalibrationResult(policy, new CalibrationReport { NumLayers = Report.NumLayers, Thresholds = Report.Thresholds, Sweep = sweep });
    }

    /// <summary>The report as indented camelCase JSON.</summary>
    public string ReportToJson() => JsonSerializer.Serialize(Report, ReportOptions);

    /// <summary>Writes the policy (see <see cref="PolicySerializer.Save"/>) and the report as JSON files.</summary>
    /// <param name="policyPath">Where the policy goes.</param>
    /// <param name="reportPath">Where the report goes.</param>
    /// <exception cref="QuickSilverException">A file cannot be written.</exception>
    public void Save(string policyPath, string reportPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reportPath);
        PolicySerializer.Save(Policy, policyPath);
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(reportPath));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            File.WriteAllText(reportPath, ReportToJson() + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QuickSilverException($"Calibration report '{reportPath}' could not be written: {e.Message}", e);
        }
    }
}
