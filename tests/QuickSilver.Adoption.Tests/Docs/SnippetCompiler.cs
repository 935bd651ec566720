using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace QuickSilver.Adoption.Tests.Docs;

/// <summary>
/// Compiles a snippet as a console program (top-level statements) the way a new console app would: the SDK's implicit usings
/// and nothing else, so a snippet must carry its own <c>using</c>s. References: the runtime and every assembly beside the tests
/// (the four QuickSilver packages and their dependencies).
/// </summary>
internal static class SnippetCompiler
{
    private const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(LoadReferences);

    public static (byte[]? Assembly, IReadOnlyList<string> Errors) Compile(DocSnippet snippet)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        SyntaxTree code = CSharpSyntaxTree.ParseText(snippet.Code, parse, path: snippet.File);
        SyntaxTree usings = CSharpSyntaxTree.ParseText(ImplicitUsings, parse, path: "ImplicitUsings.g.cs");
        var compilation = CSharpCompilation.Create(
            "Snippet_" + Guid.NewGuid().ToString("N"),
            [usings, code],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        var errors = result.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => $"{snippet.File}:{snippet.Line + d.Location.GetLineSpan().StartLinePosition.Line}: {d.Id} {d.GetMessage()}")
            .ToList();
        return (result.Success ? stream.ToArray() : null, errors);
    }

    /// <summary>Runs a compiled snippet's entry point in this process, in a collectible load context.</summary>
    public static void Run(byte[] image)
    {
        var context = new AssemblyLoadContext("snippet", isCollectible: true);
        try
        {
            Assembly assembly = context.LoadFromStream(new MemoryStream(image));
            MethodInfo entry = assembly.EntryPoint ?? throw new InvalidOperationException("The snippet has no entry point.");
            object?[] arguments = entry.GetParameters().Length == 0 ? [] : [Array.Empty<string>()];
            try
            {
                object? returned = entry.Invoke(null, arguments);
                if (returned is Task task) task.GetAwaiter().GetResult();
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            }
        }
        finally
        {
            context.Unload();
        }
    }

    private static IReadOnlyList<MetadataReference> LoadReferences()
    {
        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string path in ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator))
        {
            paths.TryAdd(Path.GetFileNameWithoutExtension(path), path);
        }
        foreach (string path in Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
        {
            paths.TryAdd(Path.GetFileNameWithoutExtension(path), path);
        }
        var references = new List<MetadataReference>();
        foreach (string path in paths.Values)
        {
            try
            {
                using var stream = File.OpenRead(path);
                using var reader = new System.Reflection.PortableExecutable.PEReader(stream);
                if (reader.HasMetadata) references.Add(MetadataReference.CreateFromFile(path));
            }
            catch (BadImageFormatException)
            {
            }
        }
        return references;
    }
}
