Console.WriteLine("AgentDemo: not yet implemented");
