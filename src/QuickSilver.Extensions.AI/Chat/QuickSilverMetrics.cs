using System.Diagnostics.Metrics;
using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>The "QuickSilver" meter's instruments, recorded once per completed request and tagged with the model id.</summary>
internal sealed class QuickSilverMetrics : IDisposable
{
    public const string MeterName = "QuickSilver";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _inputTokens;
    private readonly Counter<long> _outputTokens;
    private readonly Counter<long> _cachedTokens;
    private readonly Counter<long> _haltedTokenLayers;
    private readonly Counter<long> _fusedTokens;
    private readonly Counter<double> _flopsSaved;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _tokensPerSecond;

    public QuickSilverMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _inputTokens = _meter.CreateCounter<long>("quicksilver.tokens.input", "{token}", "Prompt tokens processed.");
        _outputTokens = _meter.CreateCounter<long>("quicksilver.tokens.output", "{token}", "Tokens generated.");
        _cachedTokens = _meter.CreateCounter<long>("quicksilver.tokens.cached", "{token}", "Prompt tokens served from a cached KV prefix.");
        _haltedTokenLayers = _meter.CreateCounter<long>("quicksilver.halted_token_layers", "{token-layer}", "Token-layers skipped by halting.");
        _fusedTokens = _meter.CreateCounter<long>("quicksilver.fused_tokens", "{token}", "Tokens absorbed by fusion.");
        _flopsSaved = _meter.CreateCounter<double>("quicksilver.flops.saved", "{flop}", "Dense FLOPs minus actual FLOPs (router included).");
        _timeToFirstToken = _meter.CreateHistogram<double>("quicksilver.time_to_first_token", "s", "Seconds from the start of decoding to the first token.");
        _tokensPerSecond = _meter.CreateHistogram<double>("quicksilver.tokens_per_second", "{token}/s", "Generated tokens per second of a request.");
    }

    public void Record(string modelId, GenerationResult result)
    {
        var tag = new KeyValuePair<string, object?>("quicksilver.model", modelId);
        _inputTokens.Add(result.PromptTokens, tag);
        _outputTokens.Add(result.Tokens.Count, tag);
        _cachedTokens.Add(result.CachedPromptTokens, tag);
        _haltedTokenLayers.Add(result.Stats.HaltedTokenLayers, tag);
        _fusedTokens.Add(result.Stats.FusedTokens, tag);
        _flopsSaved.Add(Math.Max(0, result.Stats.DenseFlops - result.Stats.ActualFlops), tag);
        if (result.Tokens.Count > 0)
        {
            _timeToFirstToken.Record(result.TimeToFirstTokenSeconds, tag);
        }
        if (result.TotalSeconds > 0)
        {
            _tokensPerSecond.Record(result.Tokens.Count / result.TotalSeconds, tag);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
