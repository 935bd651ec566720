using System.CommandLine;

namespace QuickSilver.Cli.Commands;

internal static class CalibrateCommand
{
    public static Command Create(CommandContext context) => new("calibrate", "TODO");
}
