using QuickSilver.Engine.Loading;
using QuickSilver.Testing;

namespace QuickSilver.Adoption.Tests.Consistency;

/// <summary>One model, three formats: the same id from each file's own metadata.</summary>
public sealed class ModelIdentityTests
{
    [Theory]
    [InlineData("gguf")]
    [InlineData("bin")]
    [InlineData("hf")]
    public void Stories260K_has_one_id_in_every_format(string format)
    {
        string path = format switch
        {
            "gguf" => SharedAssets.Stories260KGguf,
            "bin" => SharedAssets.Stories260KBin,
            _ => SharedAssets.Stories260KHf,
        };
        Assert.Equal("stories260K", ModelIdentity.From(CheckpointLoader.Load(path)));
    }

    [Fact]
    public void Hugging_Face_name_or_path_is_the_id_and_a_local_path_keeps_its_last_segment()
    {
        string folder = Path.Combine(Path.GetTempPath(), "qs-id-" + Guid.NewGuid().ToString("N"), "hf");
        Directory.CreateDirectory(folder);
        try
        {
            var checkpoint = new CheckpointData(TinyConfig(), new Dictionary<string, HostTensor>(), null, folder);
            File.WriteAllText(Path.Combine(folder, "config.json"), """{ "_name_or_path": "meta-llama/Llama-3.2-1B" }""");
            Assert.Equal("meta-llama/Llama-3.2-1B", ModelIdentity.From(checkpoint));
            File.WriteAllText(Path.Combine(folder, "config.json"), """{ "_name_or_path": "/home/me/models/my-llama/" }""");
            Assert.Equal("my-llama", ModelIdentity.From(checkpoint));
            File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
            Assert.Equal(Path.GetFileName(Path.GetDirectoryName(folder)), ModelIdentity.From(checkpoint)); // "hf" is generic: its parent names it
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    [Fact]
    public void Gguf_general_name_is_the_id_unless_it_only_repeats_the_architecture()
    {
        var named = new CheckpointData(TinyConfig(), new Dictionary<string, HostTensor>(), null, "/m/x.gguf",
            new Dictionary<string, string> { ["general.architecture"] = "llama", ["general.name"] = "Llama 3.2 1B Instruct" });
        Assert.Equal("Llama 3.2 1B Instruct", ModelIdentity.From(named));
        var generic = new CheckpointData(TinyConfig(), new Dictionary<string, HostTensor>(), null, "/m/x.gguf",
            new Dictionary<string, string> { ["general.architecture"] = "llama", ["general.name"] = "llama" });
        Assert.Equal("x", ModelIdentity.From(generic));
    }

    private static QuickSilver.Engine.Models.ModelConfig TinyConfig() => QuickSilver.Engine.Models.RandomCheckpoint.Gpt2SmallConfig();
}
