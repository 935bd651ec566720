Console.WriteLine("quicksilver CLI: not yet implemented");
