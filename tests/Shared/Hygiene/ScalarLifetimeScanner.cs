using System.Reflection;

namespace QuickSilver.Tests.Hygiene;

/// <summary>
/// Finds TorchSharp <c>Scalar</c> objects whose lifetime is left to the garbage collector. A Scalar made inside an
/// expression (<c>x.pow(2)</c>, <c>x * 0.5</c>, <c>torch.arange(n)</c>, <c>clamp_min(1e-12)</c>: implicit conversions)
/// is unreachable as soon as its native handle has been read, so its finalizer can free the native value while libtorch
/// still uses it: random asserts and corrupt results. The rule checked: every call that returns a Scalar must store it
/// in a local, and the same method must call <c>Dispose</c> on that local (what <c>using var s = …</c> compiles to),
/// which also keeps it alive across the native call. Engine code goes through <c>TensorScalars</c>, which does this once.
/// </summary>
internal static class ScalarLifetimeScanner
{
    private const string ScalarTypeName = "TorchSharp.Scalar";

    /// <summary>The QuickSilver product assemblies next to the test binaries (test assemblies excluded).</summary>
    public static IReadOnlyList<Assembly> ProductAssemblies()
    {
        var directory = AppContext.BaseDirectory;
        return Directory.GetFiles(directory, "*.dll")
            .Where(path => Path.GetFileName(path).StartsWith("quicksilver", StringComparison.OrdinalIgnoreCase)
                && !Path.GetFileName(path).Contains(".Tests", StringComparison.OrdinalIgnoreCase))
            .OrderBy(path => path, StringComparer.Ordinal)
            .Select(Assembly.LoadFrom)
            .ToArray();
    }

    /// <summary>Every Scalar-creating call site in <paramref name="assemblies"/> that breaks the rule, as "method: IL_offset calls target".</summary>
    public static IReadOnlyList<string> Violations(IEnumerable<Assembly> assemblies)
    {
        var violations = new List<string>();
        foreach (var assembly in assemblies)
            foreach (var method in IlCallGraph.MethodsWithBodies(assembly))
                violations.AddRange(Violations(method));
        return violations;
    }

    /// <summary>
    /// TorchSharp's own methods that make a Scalar and leave it to the GC, directly or through the overload they forward
    /// to: <c>a + b</c> is <c>add(b)</c>, which is <c>add(b, alpha: 1)</c> with an implicit Scalar; <c>x * 0.5</c> has a
    /// double overload that converts inside. Calling them is as unsafe as writing the conversion, so callers are flagged too.
    /// </summary>
    public static IReadOnlySet<MethodBase> HiddenCreators => LazyHidden.Value;

    private static readonly Lazy<IReadOnlySet<MethodBase>> LazyHidden = new(() =>
    {
        var torch = typeof(TorchSharp.Scalar).Assembly;
        var calls = IlCallGraph.MethodsWithBodies(torch).ToDictionary(m => m, m => IlCallGraph.Decode(m));
        // Conversions themselves (op_Implicit, ToScalar) hand their Scalar to the caller, whose use of it the direct rule checks.
        var hidden = new HashSet<MethodBase>(calls.Where(c => !CreatesScalar(c.Key) && DirectViolations(c.Key, c.Value).Any()).Select(c => c.Key));
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var (method, code) in calls)
                if (!hidden.Contains(method) && !CreatesScalar(method) && code.Any(i => i.Method is { } m && hidden.Contains(m))) grew |= hidden.Add(method);
        }
        return hidden;
    });

    /// <summary>The rule applied to one method body: its own Scalars, and its calls into <see cref="HiddenCreators"/>.</summary>
    public static IEnumerable<string> Violations(MethodBase method)
    {
        var code = IlCallGraph.Decode(method);
        foreach (var v in DirectViolations(method, code)) yield return v;
        foreach (var call in code)
        {
            if (call.Method is { } target && HiddenCreators.Contains(target))
                yield return $"{IlCallGraph.Describe(method)}: IL_{call.Offset:X4} {IlCallGraph.Describe(target)} makes a Scalar it leaves to the GC";
            // Tensor's implicit conversion from Scalar only throws; overload resolution picks it silently (torch.pow(Scalar, Tensor)).
            if (call.Method is MethodInfo { Name: "op_Implicit" } conversion && conversion.ReturnType.Name == "Tensor"
                && conversion.GetParameters() is [{ ParameterType.FullName: ScalarTypeName }])
                yield return $"{IlCallGraph.Describe(method)}: IL_{call.Offset:X4} converts a Scalar to a Tensor, which always throws";
        }
    }

    private static IEnumerable<string> DirectViolations(MethodBase method, IReadOnlyList<IlInstruction> code)
    {
        for (int i = 0; i < code.Count; i++)
        {
            if (!CreatesScalar(code[i].Method)) continue;
            int local = i + 1 < code.Count && code[i + 1].IsStoreLocal ? code[i + 1].Local : -1;
            if (local >= 0 && IsDisposed(code, local)) continue;
            yield return $"{IlCallGraph.Describe(method)}: IL_{code[i].Offset:X4} {code[i].Method!.DeclaringType?.Name}.{code[i].Method!.Name}"
                + (local >= 0 ? " stored but never disposed" : " not stored in a disposed local");
        }
    }

    private static bool CreatesScalar(MethodBase? target) =>
        target is MethodInfo info && info.ReturnType.FullName == ScalarTypeName;

    private static bool IsDisposed(IReadOnlyList<IlInstruction> code, int local)
    {
        for (int i = 0; i + 1 < code.Count; i++)
        {
            bool loads = code[i].Local == local && (code[i].IsLoadLocal || code[i].OpCode.Name!.StartsWith("ldloca", StringComparison.Ordinal));
            if (loads && code[i + 1].Method?.Name == "Dispose") return true;
        }
        return false;
    }
}
