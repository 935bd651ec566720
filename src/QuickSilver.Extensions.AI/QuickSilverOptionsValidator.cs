using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using QuickSilver.Extensions.AI.Policy;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI;

/// <summary>Checks every <see cref="QuickSilverOptions"/> setting; each failure message names the setting at fault.</summary>
public sealed partial class QuickSilverOptionsValidator : IValidateOptions<QuickSilverOptions>
{
    /// <summary>Formats accepted by <see cref="QuickSilverOptions.Format"/>.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["auto", "hf", "gguf", "llama2c"];

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, QuickSilverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = [.. GetFailures(options)];
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Every problem with <paramref name="options"/> (empty when valid).</summary>
    public static IEnumerable<string> GetFailures(QuickSilverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string p = "QuickSilver:";
        string format = (options.Format ?? "").Trim().ToLowerInvariant();
        if (!Formats.Contains(format))
        {
            yield return $"{p}Format '{options.Format}' is not one of {string.Join(", ", Formats)}.";
        }
        if (string.IsNullOrWhiteSpace(options.ModelPath))
        {
            yield return $"{p}ModelPath is required.";
        }
        else if (!File.Exists(options.ModelPath) && !Directory.Exists(options.ModelPath))
        {
            yield return $"{p}ModelPath {Describe(options.ModelPath)} does not exist.";
        }
        else if (Formats.Contains(format) && format != "auto")
        {
            string detected = Directory.Exists(options.ModelPath) ? "hf"
                : options.ModelPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? "gguf" : "llama2c";
            if (detected != format)
            {
                yield return $"{p}Format is '{format}' but ModelPath '{options.ModelPath}' looks like a {detected} model.";
            }
        }
        if (options.TokenizerPath is { Length: > 0 } tokenizer && !File.Exists(tokenizer) && !Directory.Exists(tokenizer))
        {
            yield return $"{p}TokenizerPath {Describe(tokenizer)} does not exist.";
        }
        if (string.IsNullOrWhiteSpace(options.Device) || !DevicePattern().IsMatch(options.Device))
        {
            yield return $"{p}Device '{options.Device}' is not 'cpu', 'cuda' or 'cuda:N'.";
        }
        if (options.Threads < 0)
        {
            yield return $"{p}Threads must be 0 (default) or positive (got {options.Threads}).";
        }
        if (options.ContextLength is <= 0)
        {
            yield return $"{p}ContextLength must be positive (got {options.ContextLength}).";
        }
        if (!Enum.IsDefined(options.KvCacheType))
        {
            yield return $"{p}KvCacheType must be Float32, Float16 or BFloat16 (got {options.KvCacheType}).";
        }
        else if (options.KvCacheType != QuickSilver.Engine.KvCacheType.Float32 && options.PolicyOverrides is not null && options.Lexicons is not null && PacksKv(options))
        {
            yield return $"{p}KvCacheType {options.KvCacheType} cannot hold the packed K/V the policy asks for (Quantization.QuantizeKv): use Float32, or turn K/V quantization off.";
        }
        if (options.MaxOutputTokens <= 0)
        {
            yield return $"{p}MaxOutputTokens must be positive (got {options.MaxOutputTokens}).";
        }
        if (!float.IsFinite(options.Temperature) || options.Temperature < 0)
        {
            yield return $"{p}Temperature must be a finite number >= 0 (got {options.Temperature}).";
        }
        if (!float.IsFinite(options.TopP) || options.TopP <= 0 || options.TopP > 1)
        {
            yield return $"{p}TopP must be in (0, 1] (got {options.TopP}).";
        }
        if (options.TopK < 0)
        {
            yield return $"{p}TopK must be 0 (off) or positive (got {options.TopK}).";
        }
        if (!float.IsFinite(options.RepetitionPenalty) || options.RepetitionPenalty <= 0)
        {
            yield return $"{p}RepetitionPenalty must be a finite number > 0 (got {options.RepetitionPenalty}).";
        }
        if (!float.IsFinite(options.FrequencyPenalty) || Math.Abs(options.FrequencyPenalty) > 2)
        {
            yield return $"{p}FrequencyPenalty must be in [-2, 2] (got {options.FrequencyPenalty}).";
        }
        if (!float.IsFinite(options.PresencePenalty) || Math.Abs(options.PresencePenalty) > 2)
        {
            yield return $"{p}PresencePenalty must be in [-2, 2] (got {options.PresencePenalty}).";
        }
        if (string.IsNullOrWhiteSpace(options.PolicyPath) && !PolicyCatalog.IsPreset(options.Policy))
        {
            yield return $"{p}Policy '{options.Policy}' is not a preset ({string.Join(", ", PolicyCatalog.PresetNames)}); set PolicyPath for a policy file.";
        }
        if (!string.IsNullOrWhiteSpace(options.PolicyPath) && !File.Exists(options.PolicyPath))
        {
            yield return $"{p}PolicyPath {Describe(options.PolicyPath)} does not exist.";
        }
        else if (!string.IsNullOrWhiteSpace(options.PolicyPath) && options.PolicyOverrides is not null && PolicyFileError(options) is { } policyError)
        {
            yield return $"{p}PolicyPath {Describe(options.PolicyPath)} is not a valid policy: {policyError}";
        }
        if (options.PolicyOverrides is null)
        {
            yield return $"{p}PolicyOverrides must not be null.";
        }
        else
        {
            foreach (string failure in PolicyComposer.Validate(options.PolicyOverrides, p + "PolicyOverrides:"))
            {
                yield return failure;
            }
        }
        if (options.Lexicons is null)
        {
            yield return $"{p}Lexicons must not be null.";
        }
        else
        {
            foreach ((string list, List<string> words) in new[] { ("ForcedHalt", options.Lexicons.ForcedHalt), ("FullProcessing", options.Lexicons.FullProcessing), ("QuantizationOverride", options.Lexicons.QuantizationOverride) })
            {
                if (words.Any(string.IsNullOrWhiteSpace)) yield return $"{p}Lexicons:{list} contains an empty entry.";
            }
            foreach ((string list, List<int> ids) in new[] { ("ForcedHaltIds", options.Lexicons.ForcedHaltIds), ("FullProcessingIds", options.Lexicons.FullProcessingIds), ("QuantizationOverrideIds", options.Lexicons.QuantizationOverrideIds) })
            {
                if (ids.Any(id => id < 0)) yield return $"{p}Lexicons:{list} contains a negative token id.";
            }
            if (options.Lexicons.ForcedHalt.Intersect(options.Lexicons.FullProcessing, StringComparer.Ordinal).FirstOrDefault() is { } both)
            {
                yield return $"{p}Lexicons: '{both}' is in both ForcedHalt and FullProcessing.";
            }
        }
        if (string.IsNullOrWhiteSpace(options.TemplateText))
        {
            string template = (options.Template ?? "").Trim().ToLowerInvariant();
            if (template != "auto" && !ChatTemplate.BuiltInNames.Contains(template))
            {
                yield return $"{p}Template '{options.Template}' is not 'auto' or a built-in ({string.Join(", ", ChatTemplate.BuiltInNames)}).";
            }
        }
        else
        {
            string? error = null;
            try
            {
                ChatTemplate.FromJinja(options.TemplateText);
            }
            catch (ChatTemplateException ex)
            {
                error = ex.Message;
            }
            if (error is not null) yield return $"{p}TemplateText is not a valid chat template: {error}";
        }
        if (options.MaxBatchSize < 1)
        {
            yield return $"{p}MaxBatchSize must be at least 1 (got {options.MaxBatchSize}).";
        }
        if (options.PrefillChunkTokens < 1)
        {
            yield return $"{p}PrefillChunkTokens must be at least 1 (got {options.PrefillChunkTokens}).";
        }
        if (options.PrefillTokensPerStep < 1)
        {
            yield return $"{p}PrefillTokensPerStep must be at least 1 (got {options.PrefillTokensPerStep}).";
        }
        if (options.MaxKvCacheTokens is < 1)
        {
            yield return $"{p}MaxKvCacheTokens must be at least 1, or unset for no bound (got {options.MaxKvCacheTokens}).";
        }
        if (!Enum.IsDefined(options.WhenKvCacheFull))
        {
            yield return $"{p}WhenKvCacheFull must be Queue or Reject (got {options.WhenKvCacheFull}).";
        }
        if (options.MaxCachedConversations < 1)
        {
            yield return $"{p}MaxCachedConversations must be at least 1 (got {options.MaxCachedConversations}).";
        }
        if (options.MaxConstrainedStringLength < 1)
        {
            yield return $"{p}MaxConstrainedStringLength must be at least 1 (got {options.MaxConstrainedStringLength}).";
        }
        if (options.MaxDraftTokens < 1 || options.MaxDraftTokens > 31)
        {
            yield return $"{p}MaxDraftTokens must be between 1 and 31 (got {options.MaxDraftTokens}): a step verifies at most 31 tokens.";
        }
        if (options.PrefixCacheBytes < 0)
        {
            yield return $"{p}PrefixCacheBytes must be 0 (off) or positive (got {options.PrefixCacheBytes}).";
        }
        if (options.PrefixCacheBlockTokens < 1 || options.PrefixCacheBlockTokens > 4096)
        {
            yield return $"{p}PrefixCacheBlockTokens must be between 1 and 4096 (got {options.PrefixCacheBlockTokens}).";
        }
    }

    /// <summary>A path as given, plus where it resolves when it is relative (to the current directory here; the DI path resolver has made it absolute against the content root already).</summary>
    private static string Describe(string path)
        => Path.IsPathFullyQualified(path) ? $"'{path}'" : $"'{path}' (resolved to '{Path.GetFullPath(path)}')";

    /// <summary>Whether the composed policy packs K/V (false when it cannot be composed: that failure is reported on its own).</summary>
    private static bool PacksKv(QuickSilverOptions options)
    {
        try
        {
            var policy = PolicyComposer.Compose(options);
            return policy.Quantization is { Enabled: true, QuantizeKv: true };
        }
        catch (Exception e) when (e is QuickSilverException or ArgumentException)
        {
            return false;
        }
    }

    private static string? PolicyFileError(QuickSilverOptions options)
    {
        try
        {
            PolicyComposer.Compose(options);
            return null;
        }
        catch (QuickSilverException ex)
        {
            return ex.Message;
        }
    }

    [GeneratedRegex("^(cpu|cuda(:[0-9]+)?)$", RegexOptions.IgnoreCase)]
    private static partial Regex DevicePattern();
}
