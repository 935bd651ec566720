using CsCheck;
using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Commands;
using QuickSilver.Cli.Compare;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Tests;

public sealed class HelperTests
{
    [Fact]
    public void WindowScheduleScoresEveryTargetExactlyOnceFromAtMostWindowInputs()
    {
        Gen.Select(Gen.Int[2, 400], Gen.Int[2, 64], Gen.Int[1, 64]).Where((n, w, s) => s <= w).Sample((count, window, stride) =>
        {
            var seen = new int[count];
            foreach (var (begin, end, first) in PplWindows.Schedule(count, window, stride))
            {
                Assert.True(end - begin <= window);
                Assert.True(first > begin);
                Assert.True(end > begin);
                for (int t = first; t <= end; t++) seen[t]++;
            }
            Assert.Equal(0, seen[0]);
            Assert.All(seen.Skip(1), c => Assert.Equal(1, c));
        });
    }

    [Fact]
    public void NllIsNegativeLogSoftmax()
    {
        float[] logits = [1f, 2f, 3f];
        double z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        Assert.Equal(-Math.Log(Math.Exp(2) / z), PplWindows.Nll(logits, 1), 12);
    }

    [Fact]
    public void SummaryTakesTheMiddleOfSortedValues()
    {
        var odd = Summary.Of([5, 1, 3]);
        Assert.Equal((3.0, 1.0, 5.0, 3), (odd.Median, odd.Min, odd.Max, odd.Count));
        Assert.Equal(2.5, Summary.Of([4, 1, 2, 3]).Median);
    }

    [Fact]
    public void WordsGroupSubwordPiecesAndSplitPunctuation()
    {
        var words = PosCommand.Words(["The", " b", "o", "y", ",", " ran", " to", "'s"]);
        Assert.Equal(["The", "boy", ",", "ran", "to's"], words.Select(w => w.Word));
        Assert.Equal([1, 2, 3], words[1].Tokens);
    }

    [Fact]
    public void HaltingProfileForcesTheRequestedShareOfTokenLayers()
    {
        var profile = Profiles.Halting(0.5, tokens: 101, layers: 12, seed: 3);
        int forced = profile.Flags.ForcedHalt.Count(f => f);
        Assert.Equal((int)Math.Round(0.5 * 12 / 8 * 100), forced); // k = 4: p = 0.5·12/8 of the 100 positions before the last
        Assert.False(profile.Flags.ForcedHalt[^1]);
        Assert.Equal(4, profile.Policy.Halting.MinLayer);
        Assert.Equal(0, profile.Policy.Halting.DriftThreshold);
    }

    [Fact]
    public void OutputFolderUnderAFileIsRejected()
    {
        string file = Path.GetTempFileName();
        try
        {
            var e = Assert.Throws<CliException>(() => OutputFolder.Prepare(Path.Combine(file, "x")));
            Assert.Equal(ExitCodes.UsageError, e.ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
