using QuickSilver.Engine.Models;
using QuickSilver.Testing.Conformance;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>Tiny random-weight variants of every supported architecture (<see cref="ArchitectureCases.Tiny"/>) for unit tests.</summary>
internal static class TinyArchitectures
{
    /// <summary>A Llama-shaped tiny config: V 64, d 64, 3 layers, 4 heads over 2 KV heads of 16, MLP 96, 64 positions.</summary>
    public static ModelConfig Base(string architecture) => ArchitectureCases.Tiny.Base(architecture);

    /// <summary>Plain Llama 2.</summary>
    public static ArchitectureCase Llama2 => ArchitectureCases.Tiny.ByName("llama2");

    /// <summary>Llama 3.1's scaling, original context 16.</summary>
    public static ArchitectureCase Llama31 => ArchitectureCases.Tiny.ByName("llama3.1");

    /// <summary>Every case.</summary>
    public static IReadOnlyList<ArchitectureCase> All => ArchitectureCases.Tiny.All;

    public static ArchitectureCase ByName(string name) => ArchitectureCases.Tiny.ByName(name);

    /// <summary>Case names for [MemberData].</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (ArchitectureCase c in All) data.Add(c.Name);
        return data;
    }
}
