namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>A clock that moves only when told: the scripted model advances it by a fixed time per step.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
