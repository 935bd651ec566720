namespace QuickSilver.Adoption.Tests;

/// <summary>Finds the repository root (the folder holding QuickSilver.AI.sln) from the test binary.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QuickSilver.AI.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("QuickSilver.AI.sln not found above " + AppContext.BaseDirectory);
    });

    public static string Root => RootPath.Value;

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);
}
