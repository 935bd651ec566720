// RagDemo: retrieval-augmented generation on a local QuickSilver model.
// Usage: dotnet run --project samples/RagDemo -c Release [-- --model PATH] [--question TEXT] [--db FILE]
return await RagDemo.RagSample.RunAsync(args, Console.Out);
