using Xunit.Abstractions;

namespace QuickSilver.Adoption.Tests.Docs;

/// <summary>
/// Every C# snippet in README.md, docs/*.md and the packages' READMEs compiles as written (as a console program with the SDK's
/// implicit usings). The README's snippets also run, from the repository root, as the README's reader would run them.
/// </summary>
[Collection(Samples.SamplesCollection.Name)]
public sealed class DocSnippetTests(ITestOutputHelper output)
{
    public static TheoryData<string> Snippets()
    {
        var data = new TheoryData<string>();
        foreach (DocSnippet snippet in DocSnippet.All()) data.Add(snippet.ToString());
        return data;
    }

    [Fact]
    public void The_docs_have_csharp_snippets_to_check()
    {
        Assert.Contains(DocSnippet.All(), s => s.File == "README.md");
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Snippet_compiles_as_written(string location)
    {
        DocSnippet snippet = Find(location);
        (byte[]? image, IReadOnlyList<string> errors) = SnippetCompiler.Compile(snippet);
        Assert.True(image is not null, $"{location} does not compile:\n{string.Join('\n', errors)}\n---\n{snippet.Code}");
    }

    [Fact]
    public void README_snippets_run_from_the_repository_root()
    {
        string previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = RepositoryPaths.Root;
        try
        {
            foreach (DocSnippet snippet in DocSnippet.All().Where(s => s.File == "README.md"))
            {
                (byte[]? image, IReadOnlyList<string> errors) = SnippetCompiler.Compile(snippet);
                Assert.True(image is not null, string.Join('\n', errors));
                var console = new StringWriter();
                TextWriter original = Console.Out;
                Console.SetOut(console);
                try
                {
                    SnippetCompiler.Run(image!);
                }
                catch (Exception ex)
                {
                    Assert.Fail($"{snippet} throws when run from the repository root: {ex}");
                }
                finally
                {
                    Console.SetOut(original);
                }
                output.WriteLine($"{snippet}:\n{console}");
                Assert.False(string.IsNullOrWhiteSpace(console.ToString()), $"{snippet} printed nothing.");
            }
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }

    private static DocSnippet Find(string location) => DocSnippet.All().Single(s => s.ToString() == location);
}
