using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>A Hugging Face model folder whose only tokenizer file is tokenizer.json.</summary>
public sealed class HfFolderLoadingTests
{
    [Fact]
    public void The_resolver_picks_tokenizer_json_from_a_model_folder()
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Write(tokenizerConfig: """{"chat_template": "{{ messages }}"}""");
        foreach (string file in new[] { "config.json", "model.safetensors" })
        {
            File.Copy(Path.Combine(SharedAssets.Stories260KHf, file), Path.Combine(fixture.Folder, file));
        }
        var checkpoint = HuggingFaceLoader.Load(fixture.Folder);
        var tokenizer = Assert.IsType<HuggingFaceTokenizer>(TokenizerResolver.Resolve(checkpoint, fixture.Folder));
        Assert.Equal("{{ messages }}", tokenizer.ChatTemplate);
    }
}
