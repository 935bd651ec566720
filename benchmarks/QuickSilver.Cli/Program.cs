return QuickSilver.Cli.CliApp.Run(args);
