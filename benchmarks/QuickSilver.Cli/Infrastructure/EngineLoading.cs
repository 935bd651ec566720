using QuickSilver.Engine;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>Adapter over the engine's file loading (Hugging Face folder, .gguf, llama2.c .bin with its tokenizer), kept in one place.</summary>
internal static class EngineLoading
{
    public static LanguageModel Load(string path, LanguageModelOptions options) => LanguageModel.Load(path, options);
}
