using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace QuickSilver.Extensions.AI;

/// <summary>
/// Makes the file settings of <see cref="QuickSilverOptions"/> (<see cref="QuickSilverOptions.ModelPath"/>,
/// <see cref="QuickSilverOptions.TokenizerPath"/>, <see cref="QuickSilverOptions.PolicyPath"/>) absolute before they are validated:
/// a relative path resolves against the host's content root (<see cref="IHostEnvironment.ContentRootPath"/>) when a host is
/// registered, else against the current directory. Errors then name the resolved path.
/// </summary>
public sealed class QuickSilverOptionsPathResolver : IPostConfigureOptions<QuickSilverOptions>
{
    private readonly IHostEnvironment? _environment;

    /// <summary>Creates the resolver; <paramref name="environment"/> is optional (null without a host).</summary>
    public QuickSilverOptionsPathResolver(IHostEnvironment? environment = null) => _environment = environment;

    /// <summary>The folder relative paths resolve against.</summary>
    public string BasePath => _environment?.ContentRootPath is { Length: > 0 } root ? root : Directory.GetCurrentDirectory();

    /// <inheritdoc />
    public void PostConfigure(string? name, QuickSilverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string basePath = BasePath;
        options.ModelPath = Resolve(options.ModelPath, basePath);
        options.TokenizerPath = Resolve(options.TokenizerPath, basePath);
        options.PolicyPath = Resolve(options.PolicyPath, basePath);
    }

    /// <summary><paramref name="path"/> made absolute against <paramref name="basePath"/> (null or blank stays as it is).</summary>
    public static string? Resolve(string? path, string basePath)
    {
        ArgumentNullException.ThrowIfNull(basePath);
        return string.IsNullOrWhiteSpace(path) ? path : Path.GetFullPath(path.Trim(), basePath);
    }
}
