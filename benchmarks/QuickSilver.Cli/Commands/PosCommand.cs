using System.CommandLine;

namespace QuickSilver.Cli.Commands;

internal static class PosCommand
{
    public static Command Create(CommandContext context) => new("pos", "TODO");
}
