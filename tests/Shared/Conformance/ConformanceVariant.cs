using LLama.Native;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// One column of the matrix: either every matrix in one tensor type (llama-quantize's <c>pure</c>, token_embd and
/// output included) or one of llama.cpp's default file-type mixes, as users download them.
/// </summary>
/// <param name="Name">Column label ("Q4_K", "Q4_K_M mix").</param>
/// <param name="PureType">The single type, for a pure file.</param>
/// <param name="Mix">The llama.cpp file type, for a mix.</param>
internal sealed record ConformanceVariant(string Name, GgufTensorType? PureType, LLamaFtype? Mix)
{
    /// <summary>Every type of the issue as a pure file.</summary>
    public static IReadOnlyList<ConformanceVariant> PureTypes { get; } =
    [
        .. new[]
        {
            GgufTensorType.F32, GgufTensorType.F16, GgufTensorType.BF16, GgufTensorType.Q8_0, GgufTensorType.Q5_1,
            GgufTensorType.Q5_0, GgufTensorType.Q4_1, GgufTensorType.Q4_0, GgufTensorType.Q6_K, GgufTensorType.Q5_K,
            GgufTensorType.Q4_K, GgufTensorType.Q3_K, GgufTensorType.Q2_K, GgufTensorType.IQ4_NL, GgufTensorType.IQ4_XS,
        }.Select(t => new ConformanceVariant(t.ToString(), t, null)),
    ];

    /// <summary>llama.cpp's default mixes: Q4_K_M, Q5_K_M, Q6_K and Q4_0 (whose output.weight is Q6_K).</summary>
    public static IReadOnlyList<ConformanceVariant> Mixes { get; } =
    [
        new("Q4_K_M mix", null, LLamaFtype.MOSTLY_Q4_K_M),
        new("Q5_K_M mix", null, LLamaFtype.MOSTLY_Q5_K_M),
        new("Q6_K mix", null, LLamaFtype.MOSTLY_Q6_K),
        new("Q4_0 mix", null, LLamaFtype.MOSTLY_Q4_0),
    ];

    /// <summary>Pure types, then mixes.</summary>
    public static IReadOnlyList<ConformanceVariant> All { get; } = [.. PureTypes, .. Mixes];

    /// <summary>The variant named <paramref name="name"/> (case-insensitive; "Q4_K_M" finds the mix).</summary>
    public static ConformanceVariant Get(string name) =>
        All.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? All.FirstOrDefault(v => v.Mix is not null && string.Equals(v.Name, name + " mix", StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown tensor type or mix '{name}' (known: {string.Join(", ", All.Select(v => v.Name))}).", nameof(name));

    /// <summary>True for F32/F16, where the issue's tighter goals apply (llama.cpp rounds BF16 matmul inputs to bf16, so BF16 is held to the quantized goals).</summary>
    public bool IsFloat => PureType is GgufTensorType.F32 or GgufTensorType.F16;

    /// <summary>Writes this variant of <paramref name="source"/> to <paramref name="destination"/> with llama-quantize.</summary>
    public void Quantize(string source, string destination)
    {
        if (PureType is { } type) LlamaCpp.LlamaCppQuantizer.QuantizePure(source, destination, type);
        else LlamaCpp.LlamaCppQuantizer.QuantizeMix(source, destination, Mix!.Value);
    }
}
