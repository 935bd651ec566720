using System.Text.RegularExpressions;

namespace QuickSilver.Adoption.Tests.Docs;

/// <summary>A ```csharp block of a Markdown file: where it is and its code.</summary>
public sealed partial record DocSnippet(string File, int Line, string Code)
{
    public override string ToString() => $"{File}:{Line}";

    /// <summary>Every ```csharp (or ```cs / ```c#) block of the README, docs/*.md and the packages' READMEs.</summary>
    public static IReadOnlyList<DocSnippet> All()
    {
        var files = new List<string> { RepositoryPaths.Combine("README.md") };
        string docs = RepositoryPaths.Combine("docs");
        if (Directory.Exists(docs)) files.AddRange(Directory.EnumerateFiles(docs, "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        files.AddRange(Directory.EnumerateFiles(RepositoryPaths.Combine("src"), "README.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        return files.SelectMany(Extract).ToList();
    }

    public static IEnumerable<DocSnippet> Extract(string path)
    {
        string relative = Path.GetRelativePath(RepositoryPaths.Root, path);
        string[] lines = System.IO.File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (!Fence().IsMatch(lines[i])) continue;
            int start = i + 1;
            int end = start;
            while (end < lines.Length && lines[end].Trim() != "```") end++;
            yield return new DocSnippet(relative, start + 1, string.Join('\n', lines[start..end]));
            i = end;
        }
    }

    [GeneratedRegex(@"^\s*```\s*(csharp|cs|c#)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Fence();
}
