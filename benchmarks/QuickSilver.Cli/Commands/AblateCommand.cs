using System.CommandLine;

namespace QuickSilver.Cli.Commands;

internal static class AblateCommand
{
    public static Command Create(CommandContext context) => new("ablate", "TODO");
}
