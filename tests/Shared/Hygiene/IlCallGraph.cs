using System.Reflection;
using System.Reflection.Emit;

namespace QuickSilver.Tests.Hygiene;

/// <summary>One decoded IL instruction: its offset, opcode and (for calls and locals) its resolved operand.</summary>
/// <param name="Offset">Byte offset in the method body.</param>
/// <param name="OpCode">The opcode.</param>
/// <param name="Method">The called method for call/callvirt/newobj, else null.</param>
/// <param name="Local">The local index for ldloc/stloc/ldloca forms, else -1.</param>
internal readonly record struct IlInstruction(int Offset, OpCode OpCode, MethodBase? Method, int Local)
{
    public bool IsStoreLocal => OpCode.Name!.StartsWith("stloc", StringComparison.Ordinal);
    public bool IsLoadLocal => OpCode.Name!.StartsWith("ldloc", StringComparison.Ordinal);
    public bool IsCall => Method is not null;
}

/// <summary>
/// Decodes method bodies of loaded assemblies into <see cref="IlInstruction"/> lists, resolving call targets through
/// the module: enough to check call-site rules (which methods are called, and what happens to their result) without
/// a decompiler dependency.
/// </summary>
internal static class IlCallGraph
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private const BindingFlags Everything =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every method and constructor with a body in <paramref name="assembly"/>, nested and compiler-generated types included.</summary>
    public static IEnumerable<MethodBase> MethodsWithBodies(Assembly assembly)
    {
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
        foreach (var type in types)
        {
            foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
            {
                if (method.IsAbstract || method.GetMethodBody() is null) continue;
                yield return method;
            }
        }
    }

    /// <summary>The decoded instructions of <paramref name="method"/>'s body (empty when it has none).</summary>
    public static IReadOnlyList<IlInstruction> Decode(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) return [];
        var result = new List<IlInstruction>();
        int pos = 0;
        while (pos < il.Length)
        {
            int start = pos;
            short value = il[pos++];
            if (value == 0xFE) value = unchecked((short)(0xFE00 | il[pos++]));
            if (!OpCodesByValue.TryGetValue(value, out var op))
                throw new InvalidOperationException($"{Describe(method)}: unknown opcode 0x{value:X} at IL_{start:X4}.");
            MethodBase? target = null;
            int local = ImplicitLocal(op);
            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                    pos += 1; break;
                case OperandType.ShortInlineVar:
                    if (IsLocalOp(op)) local = il[pos];
                    pos += 1; break;
                case OperandType.InlineVar:
                    if (IsLocalOp(op)) local = BitConverter.ToUInt16(il, pos);
                    pos += 2; break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    pos += 8; break;
                case OperandType.InlineSwitch:
                    int count = BitConverter.ToInt32(il, pos);
                    pos += 4 + (4 * count); break;
                case OperandType.InlineMethod:
                    target = Resolve(method, BitConverter.ToInt32(il, pos));
                    pos += 4; break;
                default:
                    pos += 4; break;
            }
            result.Add(new IlInstruction(start, op, target, local));
        }
        return result;
    }

    /// <summary>Type-qualified name with parameter types, for violation messages.</summary>
    public static string Describe(MethodBase method) =>
        $"{method.DeclaringType?.FullName}.{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";

    private static MethodBase? Resolve(MethodBase method, int token)
    {
        try
        {
            var typeArgs = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
            var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
            return method.Module.ResolveMethod(token, typeArgs, methodArgs);
        }
        catch (ArgumentException) { return null; }
    }

    private static bool IsLocalOp(OpCode op) => op.Name!.Contains("loc", StringComparison.Ordinal);

    private static int ImplicitLocal(OpCode op) =>
        op.Name is { } name && (name.StartsWith("ldloc.", StringComparison.Ordinal) || name.StartsWith("stloc.", StringComparison.Ordinal))
        && name.Length == 7 && char.IsDigit(name[6]) ? name[6] - '0' : -1;
}
