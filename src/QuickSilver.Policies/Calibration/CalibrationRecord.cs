using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace QuickSilver.Policies.Calibration;

/// <summary>Per-layer signal distributions recorded by a dense run over calibration text, the input of <see cref="ThresholdCalibrator"/>.</summary>
/// <remarks>
/// Each list has one entry per layer: index ℓ−1 holds the values measured after block ℓ (1-based, as the policy's layer numbers).
/// The class is plain data so a recording can be saved as JSON and calibrated later.
/// </remarks>
public sealed class CalibrationRecord
{
    /// <summary>Creates an empty record for a model of <paramref name="numLayers"/> blocks.</summary>
    /// <param name="numLayers">The model depth L.</param>
    public CalibrationRecord(int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        NumLayers = numLayers;
        Drift = NewLayers(numLayers);
        Entropy = NewLayers(numLayers);
        HaltedMaxAttention = NewLayers(numLayers);
        AdjacentDistance = NewLayers(numLayers);
    }

    /// <summary>The model depth L.</summary>
    public int NumLayers { get; }

    /// <summary>How the drift values were measured; the calibrated policy uses the same mode.</summary>
    public DriftMode DriftMode { get; set; } = DriftMode.Relative;

    /// <summary>Whether the adjacent distances were divided by the later token's norm; the calibrated policy uses the same setting.</summary>
    public bool RelativeFusionDistance { get; set; } = true;

    /// <summary>Layerwise drift Δ of every token, per layer.</summary>
    public List<List<float>> Drift { get; }

    /// <summary>Logit-lens entropy in nats of every token, per layer.</summary>
    public List<List<float>> Entropy { get; }

    /// <summary>For tokens that would halt at a layer: the maximum attention (over heads and active queries) they receive there (paper C.3).</summary>
    public List<List<float>> HaltedMaxAttention { get; }

    /// <summary>Distance between the hidden states of adjacent tokens, per layer (paper D.3).</summary>
    public List<List<float>> AdjacentDistance { get; }

    /// <summary>Records a drift value measured after block <paramref name="layer"/>.</summary>
    /// <param name="layer">The 1-based layer.</param>
    /// <param name="value">The drift.</param>
    public void AddDrift(int layer, float value) => At(Drift, layer).Add(value);

    /// <summary>Records an entropy (nats) measured after block <paramref name="layer"/>.</summary>
    /// <param name="layer">The 1-based layer.</param>
    /// <param name="value">The entropy.</param>
    public void AddEntropy(int layer, float value) => At(Entropy, layer).Add(value);

    /// <summary>Records the maximum attention a halted token received at <paramref name="layer"/>.</summary>
    /// <param name="layer">The 1-based layer.</param>
    /// <param name="value">The attention probability.</param>
    public void AddHaltedMaxAttention(int layer, float value) => At(HaltedMaxAttention, layer).Add(value);

    /// <summary>Records an adjacent-token distance measured after block <paramref name="layer"/>.</summary>
    /// <param name="layer">The 1-based layer.</param>
    /// <param name="value">The distance.</param>
    public void AddAdjacentDistance(int layer, float value) => At(AdjacentDistance, layer).Add(value);

    /// <summary>Concatenates the values of the given layers of one of this record's distributions.</summary>
    /// <param name="byLayer">One of <see cref="Drift"/>, <see cref="Entropy"/>, <see cref="HaltedMaxAttention"/>, <see cref="AdjacentDistance"/>.</param>
    /// <param name="layers">1-based layers to pool.</param>
    public float[] Pool(List<List<float>> byLayer, IEnumerable<int> layers)
    {
        ArgumentNullException.ThrowIfNull(byLayer);
        ArgumentNullException.ThrowIfNull(layers);
        var pooled = new List<float>();
        foreach (var layer in layers)
        {
            pooled.AddRange(At(byLayer, layer));
        }

        return [.. pooled];
    }

    /// <summary>The record as camelCase JSON (NaN values are written as "NaN").</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dto(NumLayers, DriftMode, RelativeFusionDistance, Drift, Entropy, HaltedMaxAttention, AdjacentDistance), JsonOptions);

    /// <summary>Reads a record written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="CalibrationException">The text is malformed, or a distribution does not have one list per layer.</exception>
    public static CalibrationRecord FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        Dto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<Dto>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new CalibrationException(e.Path ?? "$", $"Invalid calibration record JSON at {e.Path ?? "$"}: {e.Message}", e);
        }

        if (dto is null || dto.NumLayers < 1)
        {
            throw new CalibrationException("numLayers", "A calibration record needs numLayers of at least 1.");
        }

        var record = new CalibrationRecord(dto.NumLayers) { DriftMode = dto.DriftMode, RelativeFusionDistance = dto.RelativeFusionDistance };
        Copy(dto.Drift, record.Drift, "drift");
        Copy(dto.Entropy, record.Entropy, "entropy");
        Copy(dto.HaltedMaxAttention, record.HaltedMaxAttention, "haltedMaxAttention");
        Copy(dto.AdjacentDistance, record.AdjacentDistance, "adjacentDistance");
        return record;
    }

    /// <summary>Writes the record to a file as JSON.</summary>
    /// <param name="path">The file path; its folder is created if needed.</param>
    /// <exception cref="QuickSilverException">The file cannot be written.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            File.WriteAllText(path, ToJson(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QuickSilverException($"Calibration record '{path}' could not be written: {e.Message}", e);
        }
    }

    /// <summary>Reads a record file written by <see cref="Save"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <exception cref="QuickSilverException">The file cannot be read, or is not a valid record (the message names the file).</exception>
    public static CalibrationRecord Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QuickSilverException($"Calibration record '{path}' could not be read: {e.Message}", e);
        }

        try
        {
            return FromJson(json);
        }
        catch (CalibrationException e)
        {
            throw new CalibrationException(e.Field, $"Calibration record '{path}': {e.Message}", e);
        }
    }

    private static void Copy(List<List<float>>? source, List<List<float>> target, string field)
    {
        if (source is null)
        {
            throw new CalibrationException(field, $"The calibration record has no \"{field}\" lists.");
        }

        if (source.Count != target.Count)
        {
            throw new CalibrationException(field, $"The calibration record has {source.Count} \"{field}\" lists for {target.Count} layers.");
        }

        for (var i = 0; i < source.Count; i++)
        {
            target[i].AddRange(source[i] ?? throw new CalibrationException($"{field}[{i}]", $"The calibration record's \"{field}\" list for layer {i + 1} is null."));
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    private sealed record Dto(
        int NumLayers,
        DriftMode DriftMode,
        bool RelativeFusionDistance,
        List<List<float>>? Drift,
        List<List<float>>? Entropy,
        List<List<float>>? HaltedMaxAttention,
        List<List<float>>? AdjacentDistance);

    private List<float> At(List<List<float>> byLayer, int layer)
    {
        if (layer < 1 || layer > byLayer.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"A layer of this {NumLayers}-layer record must be in [1, {byLayer.Count}].");
        }

        return byLayer[layer - 1];
    }

    private static List<List<float>> NewLayers(int count)
    {
        var layers = new List<List<float>>(count);
        for (var i = 0; i < count; i++)
        {
            layers.Add([]);
        }

        return layers;
    }
}
