// AgentFrameworkDemo: a Microsoft Agent Framework agent (Microsoft.Agents.AI) on QuickSilver's IChatClient.
// Usage: dotnet run --project samples/AgentFrameworkDemo -c Release [-- --model PATH]
return await AgentFrameworkDemo.AgentFrameworkSample.RunAsync(args, Console.Out);
