using QuickSilver.Engine;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>Adapter over the engine's file loading, kept in one place so the CLI follows the engine's API as it lands.</summary>
internal static class EngineLoading
{
    public static LanguageModel Load(string path, LanguageModelOptions options) =>
        throw new CliException($"This build of the engine cannot load model files yet (LanguageModel.Load has not landed); '{path}' was not loaded. Use '{ModelLoader.RandomGpt2Small}' or '{ModelLoader.RandomTiny}'.", ExitCodes.Failure);
}
