using QuickSilver.Engine.Loading;
using QuickSilver.Testing;

namespace QuickSilver.Adoption.Tests.Consistency;

/// <summary>
/// The context length is what each file's metadata declares. For stories260K the llama2.c header (seq_len) and config.json
/// (max_position_embeddings) say 512, the length it was trained at; the GGUF says llama.context_length = 2048, a value written
/// by the converter, not by training, and llama.cpp reads the same 2048 (n_ctx_train). Positions past 512 were never trained.
/// </summary>
public sealed class ContextLengthTests
{
    [Fact]
    public void Llama2c_header_and_config_json_declare_the_trained_length()
    {
        Assert.Equal(512, CheckpointLoader.Load(SharedAssets.Stories260KBin).Config.MaxPositions);
        Assert.Equal(512, CheckpointLoader.Load(SharedAssets.Stories260KHf).Config.MaxPositions);
    }
}
