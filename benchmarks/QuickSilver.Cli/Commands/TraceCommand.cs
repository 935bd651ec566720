using System.CommandLine;

namespace QuickSilver.Cli.Commands;

internal static class TraceCommand
{
    public static Command Create(CommandContext context) => new("trace", "TODO");
}
