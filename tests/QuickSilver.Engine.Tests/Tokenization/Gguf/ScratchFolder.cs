namespace QuickSilver.Engine.Tests.Tokenization.Gguf;

/// <summary>A temporary folder for test GGUFs, deleted (with everything in it) when disposed.</summary>
internal sealed class ScratchFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("qs-tokgguf-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
