using System.Runtime.CompilerServices;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Generation;

/// <summary>
/// The one generation loop: prefill the uncached part of the prompt, then per step run the pending token (and any drafts)
/// through the model, pass each row's logits through the processors and the sampler, and ask the stopping criteria.
/// A scheduler can drive it step by step (<see cref="NextStep"/>, <see cref="Advance"/>) to batch several generators;
/// <see cref="Generate"/> and <see cref="GenerateAsync"/> drive it alone.
/// </summary>
/// <remarks>
/// Drafted tokens (<see cref="GenerationRequest.DraftProvider"/>) are verified in the same step: row i is sampled exactly as
/// plain decoding would sample that position, and drafting continues only while the sampled token equals the draft the model
/// already ran. Rejected drafts are cut off with <see cref="Sequence.TruncateTo"/>; processors, sampler and criteria only ever
/// see emitted tokens. So output, random draws and the sequence's final state equal plain decoding.
/// Jump-forward (<see cref="GenerationRequest.JumpForward"/>) puts the tokens a constraint forces between the pending token
/// and the drafts: they are emitted without logits (the sampler skips one draw each, as it would on a one-token
/// distribution), and the step asks logits only from the last forced token on (<see cref="SequenceStep.LogitsFrom"/>).
/// Drafts and forced tokens run only on dense sequences, whose short multi-token steps equal one-token steps bit for bit.
/// </remarks>
public sealed class Generator
{
    /// <summary>
    /// Most tokens in one decode step (pending, forced and drafted together): below the GEMM switch of 32 rows a step runs the
    /// per-row decode kernels, so its rows equal one-token steps bit for bit and verification stays exact.
    /// </summary>
    public const int MaxStepTokens = 31;

    private readonly IStepModel _model;
    private readonly Sequence _sequence;
    private readonly List<int> _prompt;
    private readonly GenerationRequest _request;
    private readonly List<ILogitsProcessor> _processors;
    private readonly TokenSampler _sampler;
    private readonly List<IStoppingCriterion> _criteria = [];
    private readonly List<int> _output = [];
    private readonly List<int> _context;
    private readonly float[] _buffer;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly int _reused;
    private IReadOnlyList<int> _drafts = [];
    private IReadOnlyList<int> _forced = [];
    private readonly bool _multiToken;
    private int? _pending;
    private bool _prefilled;
    private bool _lastIncluded;
    private GenerationFinishReason? _finish;
    private double _firstTokenSeconds;
    private double _totalSeconds;

    /// <summary>
    /// Prepares generation of a reply to <paramref name="prompt"/> on <paramref name="sequence"/>, reusing the longest prefix the
    /// sequence already holds (at least one prompt token always runs, to produce logits).
    /// </summary>
    /// <exception cref="ContextLengthExceededException">The prompt leaves no room for a generated token.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A sampling setting or a prompt id is out of range.</exception>
    /// <param name="model">The step API.</param>
    /// <param name="sequence">The sequence to extend; the generator owns it until it finishes.</param>
    /// <param name="prompt">The prompt's token ids.</param>
    /// <param name="request">Sampling, stopping and drafting settings.</param>
    /// <param name="timeProvider">The clock for the result's timings (default: the system clock).</param>
    public Generator(IStepModel model, Sequence sequence, IReadOnlyList<int> prompt, GenerationRequest request, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(sequence.IsDisposed, sequence);
        if (prompt.Count == 0) throw new ArgumentException("The prompt is empty.", nameof(prompt));
        Sampler.Validate(request);
        int vocab = model.VocabSize;
        foreach (int id in prompt)
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(prompt), id, $"Token id {id} is outside the vocabulary (0..{vocab - 1}).");
        if (prompt.Count >= sequence.ContextLength) throw new ContextLengthExceededException(prompt.Count, sequence.ContextLength);

        _time = timeProvider ?? TimeProvider.System;
        _started = _time.GetTimestamp();
        _model = model;
        _sequence = sequence;
        _prompt = [.. prompt];
        _context = [.. prompt];
        _request = request;
        _buffer = new float[vocab];

        int reuse = 0;
        var held = sequence.Tokens;
        while (reuse < held.Count && reuse < prompt.Count - 1 && held[reuse] == prompt[reuse]) reuse++;
        // A sliding-window cache keeps only recent keys: going back further than it can means starting over.
        if (!sequence.CanTruncateTo(reuse)) reuse = 0;
        sequence.TruncateTo(reuse);
        _reused = reuse;
        sequence.Stats = new RuntimeStats();
        sequence.Traces = request.CollectTrace ? new List<TokenTrace>() : null;

        _processors = Sampler.Processors(request, prompt);
        _sampler = new TokenSampler(request.Temperature, request.TopK, request.TopP, request.Seed);
        var stopIds = request.IgnoreEndOfSequence ? request.StopTokenIds : request.StopTokenIds.Concat(model.EndOfSequenceIds);
        _criteria.Add(new StopTokenCriterion(stopIds));
        if (request.StopSequences.Count > 0) _criteria.Add(new StopStringCriterion(model.Tokenizer, request.StopSequences));
        if (request.Constraint is { } constraint) _criteria.Add(new ConstraintCompleteCriterion(constraint));
        _criteria.Add(new LengthCriterion(request.MaxNewTokens));
        _multiToken = sequence.Options.Policy is null || sequence.Options.Policy.IsDense;
    }

    /// <summary>Draft tokens proposed so far (each verified in a step).</summary>
    public int DraftTokens { get; private set; }

    /// <summary>Draft tokens the verification accepted (emitted without a step of their own).</summary>
    public int AcceptedDraftTokens { get; private set; }

    /// <summary>Tokens emitted by jump-forward without sampling.</summary>
    public int ForcedTokens { get; private set; }

    /// <summary>The sequence the generator extends.</summary>
    public Sequence Sequence => _sequence;

    /// <summary>Emitted tokens so far.</summary>
    public IReadOnlyList<int> Output => _output;

    /// <summary>Prompt tokens served from the sequence instead of being run again.</summary>
    public int CachedPromptTokens => _reused;

    /// <summary>Whether generation has ended.</summary>
    public bool IsFinished => _finish is not null;

    /// <summary>Why generation ended, or null while it runs.</summary>
    public GenerationFinishReason? FinishReason => _finish;

    /// <summary>The logits processors, in application order.</summary>
    public IReadOnlyList<ILogitsProcessor> Processors => _processors;

    /// <summary>The stopping criteria, in the order they are asked.</summary>
    public IReadOnlyList<IStoppingCriterion> StoppingCriteria => _criteria;

    /// <summary>
    /// The step to run next: the uncached prompt (last row only), then the pending token followed by any drafts; null once
    /// finished. Run it (<see cref="IStepModel.Decode"/>) and hand its logits to <see cref="Advance"/>.
    /// </summary>
    public SequenceStep? NextStep()
    {
        if (_finish is not null) return null;
        if (!_prefilled) return new SequenceStep(_sequence, _prompt[_reused..], LastRowOnly: true);
        _forced = ProposeForced();
        _drafts = ProposeDrafts();
        return new SequenceStep(_sequence, [_pending!.Value, .. _forced, .. _drafts], LogitsFrom: _forced.Count);
    }

    /// <summary>Consumes the logits of the step <see cref="NextStep"/> returned; returns the tokens emitted by it.</summary>
    /// <exception cref="InvalidOperationException">Generation has ended, or the constraint admits no token.</exception>
    public IReadOnlyList<GeneratedToken> Advance(StepLogits logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (_finish is not null) throw new InvalidOperationException("Generation has ended.");
        bool prefill = !_prefilled;
        IReadOnlyList<int> forced = prefill ? Array.Empty<int>() : _forced;
        int rows = prefill ? 1 : 1 + _drafts.Count;
        int stepTokens = prefill ? _prompt.Count - _reused : 1 + forced.Count + _drafts.Count;
        // A model may ignore LogitsFrom and return every row; the scored rows are then its tail.
        int offset = !prefill && logits.RowCount == stepTokens ? forced.Count : 0;
        if (logits.RowCount != rows + offset) throw new ArgumentException($"The step has {rows} scored tokens but {logits.RowCount} logits rows came back.", nameof(logits));
        if (logits.VocabSize != _buffer.Length) throw new ArgumentException($"Logits rows have {logits.VocabSize} entries, not {_buffer.Length}.", nameof(logits));
        // What the sequence held before the step's tokens; the step's first token is always valid.
        int before = _sequence.Length - stepTokens;
        int valid = before + (prefill ? stepTokens : 1);
        _prefilled = true;

        var emitted = new List<GeneratedToken>(rows + forced.Count);
        foreach (int token in forced)
        {
            // Sampling under the constraint would pick this token whatever the logits: record it as picked.
            _sampler.SkipForced();
            foreach (var processor in _processors) processor.Accept(token);
            StopDecision decision = Check(token);
            if (decision.Stop)
            {
                if (decision.IncludeToken) Emit(token, emitted);
                _lastIncluded = decision.IncludeToken;
                _finish = decision.Reason;
                rows = 0;
                break;
            }
            Emit(token, emitted);
            ForcedTokens++;
            valid++; // the step ran it
        }
        int accepted = 0;
        for (int i = 0; i < rows; i++)
        {
            int token = Choose(logits.Row(offset + i));
            StopDecision decision = Check(token);
            if (decision.Stop)
            {
                if (decision.IncludeToken) Emit(token, emitted);
                _lastIncluded = decision.IncludeToken;
                _finish = decision.Reason;
                break;
            }
            Emit(token, emitted);
            if (i < _drafts.Count && token == _drafts[i])
            {
                valid++; // the model already ran this token: the next row is its logits
                accepted++;
                continue;
            }
            _pending = token;
            break;
        }
        if (_finish is not null)
        {
            // Plain decoding never runs the last emitted token when it ends the output, nor a stop id.
            valid = Math.Min(valid, _prompt.Count + _output.Count - (_lastIncluded ? 1 : 0));
            _totalSeconds = Elapsed;
        }
        if (_sequence.Length > valid) _sequence.TruncateTo(valid);
        if (_drafts.Count > 0)
        {
            DraftTokens += _drafts.Count;
            AcceptedDraftTokens += accepted;
            _request.DraftProvider?.Verified(_drafts.Count, accepted);
        }
        _drafts = [];
        _forced = [];
        return emitted;
    }

    /// <summary>Runs the loop on the calling thread, yielding each token as it is emitted.</summary>
    /// <exception cref="OperationCanceledException">Cancelled between steps; the sequence stays usable.</exception>
    public IEnumerable<GeneratedToken> Generate(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        while (NextStep() is { } step)
        {
            var logits = _model.Decode([step])[0];
            foreach (var token in Advance(logits)) yield return token;
            if (_finish is null) cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Runs the loop, yielding each token as it is emitted. Each step runs synchronously on the thread that asks for it.</summary>
    /// <exception cref="OperationCanceledException">Cancelled between steps; the sequence stays usable.</exception>
    public async IAsyncEnumerable<GeneratedToken> GenerateAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var token in Generate(cancellationToken)) yield return token;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Runs the loop to the end, calling <paramref name="onToken"/> with each emitted token; returns the result.</summary>
    public GenerationResult Run(Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        foreach (var token in Generate(cancellationToken)) onToken?.Invoke(token.Id);
        return GetResult();
    }

    /// <summary>The outcome so far (complete once <see cref="IsFinished"/>).</summary>
    public GenerationResult GetResult() => new()
    {
        Tokens = [.. _output],
        FinishReason = _finish ?? GenerationFinishReason.Length,
        PromptTokens = _prompt.Count,
        CachedPromptTokens = _reused,
        Stats = _sequence.Stats,
        Traces = _sequence.Traces is { } traces ? [.. traces] : [],
        TimeToFirstTokenSeconds = _firstTokenSeconds,
        TotalSeconds = _finish is null ? Elapsed : _totalSeconds,
    };

    /// <summary>Captures the state between steps (after the prefill): output, sequence length, sampler, processors, criteria.</summary>
    /// <exception cref="InvalidOperationException">The prompt has not run yet.</exception>
    public GeneratorSnapshot Snapshot()
    {
        if (!_prefilled) throw new InvalidOperationException("A snapshot needs the prompt's prefill to have run.");
        return new GeneratorSnapshot(
            _sequence.Length, _output.Count, _pending, _sampler.Snapshot(),
            [.. _processors.Select(p => p.Snapshot())], [.. _criteria.Select(c => c.Snapshot())], _finish) { LastIncluded = _lastIncluded };
    }

    /// <summary>
    /// Returns to <paramref name="snapshot"/>: drops later output, truncates the sequence and rolls back the sampler, processors
    /// and criteria, so that continuing equals never having gone further.
    /// </summary>
    public void Restore(GeneratorSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.OutputCount > _output.Count || snapshot.SequenceLength > _sequence.Length)
            throw new InvalidOperationException("The snapshot is ahead of the generator (restore only goes back).");
        _sequence.TruncateTo(snapshot.SequenceLength);
        _output.RemoveRange(snapshot.OutputCount, _output.Count - snapshot.OutputCount);
        _context.RemoveRange(_prompt.Count + snapshot.OutputCount, _context.Count - _prompt.Count - snapshot.OutputCount);
        _pending = snapshot.Pending;
        _sampler.Restore(snapshot.Sampler);
        for (int i = 0; i < _processors.Count; i++) _processors[i].Restore(snapshot.Processors[i]);
        for (int i = 0; i < _criteria.Count; i++) _criteria[i].Restore(snapshot.Criteria[i]);
        _finish = snapshot.Finish;
        _lastIncluded = snapshot.LastIncluded;
        _drafts = [];
        _forced = [];
    }

    private double Elapsed => _time.GetElapsedTime(_started).TotalSeconds;

    private int Choose(ReadOnlySpan<float> row)
    {
        row.CopyTo(_buffer);
        foreach (var processor in _processors) processor.Process(_buffer);
        int token = _sampler.Sample(_buffer);
        foreach (var processor in _processors) processor.Accept(token);
        return token;
    }

    private StopDecision Check(int token)
    {
        var progress = new GenerationProgress(_output, _prompt.Count, _sequence.ContextLength);
        foreach (var criterion in _criteria)
        {
            var decision = criterion.Check(token, progress);
            if (decision.Stop) return decision;
        }
        return StopDecision.Continue;
    }

    private void Emit(int token, List<GeneratedToken> emitted)
    {
        if (_output.Count == 0) _firstTokenSeconds = Elapsed;
        emitted.Add(new GeneratedToken(token, _output.Count));
        _output.Add(token);
        _context.Add(token);
    }

    private IReadOnlyList<int> ProposeForced()
    {
        if (!_request.JumpForward || !_multiToken || _request.Constraint is not Speculative.IForcedContinuation continuation) return [];
        // Each forced token needs a position after the pending one, and more than the output can hold would only be cut off.
        int room = Math.Min(Math.Min(_request.MaxForcedTokens, MaxStepTokens - 1),
            Math.Min(_request.MaxNewTokens - _output.Count, _sequence.ContextLength - _sequence.Length - 1));
        if (room <= 0) return [];
        Span<int> buffer = stackalloc int[room];
        int count = continuation.PeekForced(buffer);
        if (count <= 0) return [];
        var forced = new int[Math.Min(count, room)];
        for (int i = 0; i < forced.Length; i++)
        {
            if ((uint)buffer[i] >= (uint)_buffer.Length) return forced[..i];
            forced[i] = buffer[i];
        }
        return forced;
    }

    private IReadOnlyList<int> ProposeDrafts()
    {
        if (_request.DraftProvider is not { } provider || _request.MaxDraftTokens == 0 || !_multiToken) return [];
        int forced = _forced.Count;
        // Row k of a step with k drafts yields a token too, so k drafts may add k + 1 tokens; and each needs a position.
        int room = Math.Min(Math.Min(_request.MaxDraftTokens, MaxStepTokens - 1 - forced),
            Math.Min(_request.MaxNewTokens - _output.Count - forced - 1, _sequence.ContextLength - _sequence.Length - 1 - forced));
        if (room <= 0) return [];
        var proposed = provider.Propose(forced == 0 ? _context : [.. _context, .. _forced], room);
        var drafts = new List<int>(Math.Min(room, proposed.Count));
        foreach (int id in proposed)
        {
            if (drafts.Count == room || (uint)id >= (uint)_buffer.Length) break;
            drafts.Add(id);
        }
        return drafts;
    }
}
