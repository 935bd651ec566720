namespace QuickSilver.Engine.Loading;

/// <summary>A set of safetensors files read as one: a single file, or the shards named by <c>model.safetensors.index.json</c>.</summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    private readonly IReadOnlyList<SafetensorsFile> _files;
    private readonly IReadOnlyDictionary<string, SafetensorsFile> _owners;

    internal SafetensorsCheckpoint(string source, IReadOnlyList<SafetensorsFile> files, IReadOnlyDictionary<string, SafetensorsFile> owners)
    {
        Source = source;
        _files = files;
        _owners = owners;
    }

    /// <summary>The file or index the checkpoint was opened from.</summary>
    public string Source { get; }

    /// <summary>The underlying files.</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>All tensor names.</summary>
    public IEnumerable<string> TensorNames => _owners.Keys;

    /// <summary>Whether the checkpoint holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => _owners.ContainsKey(name);

    /// <summary>The header entry of a tensor.</summary>
    /// <exception cref="ModelFormatException">The tensor is absent.</exception>
    public SafetensorsTensorInfo GetInfo(string name) => Owner(name).Tensors[name];

    /// <summary>The file holding a tensor.</summary>
    /// <exception cref="ModelFormatException">The tensor is absent.</exception>
    public string FileOf(string name) => Owner(name).Path;

    /// <summary>Reads a tensor as float32.</summary>
    /// <exception cref="ModelFormatException">The tensor is absent or has an unsupported dtype.</exception>
    public float[] ReadFloat32(string name) => Owner(name).ReadFloat32(name);

    /// <summary>A 2-D F16/BF16 tensor kept 16-bit, or null for any other dtype or rank.</summary>
    internal Kernels.QuantizedMatrix? ReadHalfMatrix(string name) => Owner(name).ReadHalfMatrix(name);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (SafetensorsFile file in _files) file.Dispose();
    }

    private SafetensorsFile Owner(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _owners.TryGetValue(name, out SafetensorsFile? file)
            ? file
            : throw new ModelFormatException(Source, $"missing tensor '{name}'.");
    }
}
