using System.ComponentModel;
using Microsoft.SemanticKernel;

namespace AgentDemo;

/// <summary>The agent's plugin: small tools that really compute something.</summary>
internal sealed class StoryTools
{
    public List<string> Calls { get; } = [];

    [KernelFunction("add_numbers"), Description("Adds two whole numbers and returns the sum.")]
    public long AddNumbers([Description("The first number")] int a, [Description("The second number")] int b)
    {
        Calls.Add($"add_numbers({a}, {b}) = {(long)a + b}");
        return (long)a + b;
    }

    [KernelFunction("count_letters"), Description("Counts the letters in a word.")]
    public int CountLetters([Description("The word")] string word)
    {
        int count = word.Count(char.IsLetter);
        Calls.Add($"count_letters(\"{word}\") = {count}");
        return count;
    }

    [KernelFunction("current_time_utc"), Description("Returns the current UTC time as HH:mm.")]
    public string CurrentTimeUtc()
    {
        string now = DateTime.UtcNow.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        Calls.Add($"current_time_utc() = {now}");
        return now;
    }
}
