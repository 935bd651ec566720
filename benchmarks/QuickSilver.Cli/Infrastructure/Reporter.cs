using Spectre.Console;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>
/// Progress and messages for one command. On an interactive terminal long work shows Spectre.Console progress bars;
/// otherwise (redirected output, tests) each task prints one line when it starts and one when it ends.
/// </summary>
internal sealed class Reporter
{
    private readonly TextWriter _out;
    private readonly bool _interactive;

    public Reporter(TextWriter output, bool interactive)
    {
        _out = output;
        _interactive = interactive;
    }

    public TextWriter Out => _out;

    public void Line(string text) => _out.WriteLine(text);

    /// <summary>Runs <paramref name="work"/>, which reports progress in [0, <paramref name="total"/>] through the callback.</summary>
    public T Task<T>(string description, double total, Func<Action<double>, T> work)
    {
        if (!_interactive)
        {
            _out.WriteLine($"… {description}");
            var result = work(_ => { });
            return result;
        }
        T value = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                value = work(v => task.Value = v);
                task.Value = task.MaxValue;
            });
        return value;
    }

    public void Task(string description, double total, Action<Action<double>> work) => Task<int>(description, total, p => { work(p); return 0; });
}
