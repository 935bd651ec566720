using QuickSilver.Engine.Loading;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Loading;

public sealed class CheckpointLoaderTests
{
    [Fact]
    public void MissingPath_IsNamed()
    {
        using var temp = new TempDirectory();
        string missing = temp.File("nothing-here.gguf");
        var ex = Assert.Throws<ModelFormatException>(() => CheckpointLoader.Load(missing));
        Assert.Contains(missing, ex.Message);
        Assert.IsType<FileNotFoundException>(ex.InnerException);
    }

    [Fact]
    public void FolderWithoutConfig_IsNamed()
    {
        using var temp = new TempDirectory();
        var ex = Assert.Throws<ModelFormatException>(() => CheckpointLoader.Load(temp.Path));
        Assert.Contains(temp.Path, ex.Message);
        Assert.Contains("config.json", ex.Message);
    }

    [Fact]
    public void LoneSafetensorsFile_NeedsAConfig()
    {
        using var temp = new TempDirectory();
        string path = temp.File("model.safetensors");
        File.Copy(Path.Combine(SharedAssets.Stories260KHf, "model.safetensors"), path);
        var ex = Assert.Throws<ModelFormatException>(() => CheckpointLoader.Load(path));
        Assert.Contains("config.json", ex.Message);
    }

    [Fact]
    public void ConfigJsonPath_LoadsItsFolder()
    {
        Assert.Equal(5, CheckpointLoader.Load(Path.Combine(SharedAssets.Stories260KHf, "config.json")).Config.NumLayers);
    }

    [Fact]
    public void GgufMagic_IsDetectedWithoutTheExtension()
    {
        using var temp = new TempDirectory();
        string path = temp.File("model.weights");
        File.Copy(SharedAssets.Stories260KGguf, path);
        Assert.Equal(2048, CheckpointLoader.Load(path).Config.MaxPositions);
    }

    [Fact]
    public void OtherFiles_AreReadAsLlama2c()
    {
        using var temp = new TempDirectory();
        string path = temp.File("notes.txt");
        File.WriteAllText(path, "hello");
        var ex = Assert.Throws<ModelFormatException>(() => CheckpointLoader.Load(path));
        Assert.Contains("llama2.c", ex.Message);
    }
}
