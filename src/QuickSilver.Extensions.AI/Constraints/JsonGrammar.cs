using System.Text;
using static QuickSilver.Extensions.AI.Constraints.JsonSchemaNode;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// A byte-level pushdown automaton for compact JSON (no insignificant whitespace) that follows a <see cref="JsonSchemaNode"/>.
/// States are immutable stacks of immutable frames, so one state can be stepped along many bytes at once
/// (the token-trie walk branches without copying).
/// </summary>
internal static class JsonGrammar
{
    /// <summary>Longest number (characters); keeps a wandering model from writing digits until its budget runs out.</summary>
    internal const int MaxNumberChars = 16;

    /// <summary>Most digits of an integer: 9 always fits a 32-bit int, the usual C# tool parameter.</summary>
    internal const int MaxIntegerDigits = 9;

    /// <summary>The state before any byte of a value of <paramref name="schema"/>.</summary>
    public static JsonState Start(JsonSchemaNode schema) => new(new ValueFrame(schema), new JsonState(DoneFrame.Instance, null));

    /// <summary>The state before a tool call <c>{"name":"…","arguments":{…}}</c> for one of <paramref name="tools"/>.</summary>
    public static JsonState StartToolCall(IReadOnlyList<(string Name, JsonSchemaNode Arguments)> tools, string argumentsKey = "arguments", bool spaced = false)
    {
        var frame = new ToolCallFrame(tools, -1);
        // Native protocols were trained on Python's json.dumps layout ('{"name": "x", "arguments": '); the generic one is compact.
        string colon = spaced ? ": " : ":", comma = spaced ? ", " : ",";
        byte[][] prefixes = tools.Select(t => Encoding.UTF8.GetBytes("{\"name\"" + colon + JsonStringLiteral(t.Name) + comma + JsonStringLiteral(argumentsKey) + colon)).ToArray();
        int[] tails = tools.Select(t => t.Arguments.MinimumValueBytes + 1).ToArray();
        return new JsonState(new LiteralFrame(prefixes, 0, tails), new JsonState(frame, new JsonState(DoneFrame.Instance, null)));
    }

    public static string JsonStringLiteral(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>
    /// True when <paramref name="state"/> is inside a string body between characters (no escape or multi-byte character
    /// pending): then a token of only plain characters is valid exactly when the string stays within its length bound.
    /// </summary>
    public static bool TryGetPlainString(JsonState state, out int length, out int maxLength)
    {
        if (state.Top is StringFrame frame && frame.IsBetweenCharacters)
        {
            length = frame.Length;
            maxLength = frame.MaxLength;
            return true;
        }
        length = maxLength = 0;
        return false;
    }

    /// <summary>
    /// Writes into <paramref name="destination"/> the bytes every valid continuation of <paramref name="state"/> starts with:
    /// while the output cannot end and exactly one byte is accepted, that byte is forced (keys after a comma, punctuation,
    /// the rest of an enum value or tool name once it is unambiguous). Returns how many were written.
    /// </summary>
    public static int ForcedBytes(JsonState state, Span<byte> destination)
    {
        int count = 0;
        while (count < destination.Length && !state.CanEnd)
        {
            if (state.Top.OnlyByte(state) is int known and >= 0)
            {
                // The frame knows its one accepted byte: no scan of the other 255.
                JsonState? after = state.Top.Step(state, (byte)known);
                if (after is null) return count;
                destination[count++] = (byte)known;
                state = after;
                continue;
            }
            JsonState? only = null;
            int onlyByte = -1;
            for (int b = 0; b < 256; b++)
            {
                JsonState? next = state.Top.Step(state, (byte)b);
                if (next is null) continue;
                if (onlyByte >= 0) return count; // a choice: nothing more is forced
                (onlyByte, only) = (b, next);
            }
            if (only is null) return count;
            destination[count++] = (byte)onlyByte;
            state = only;
        }
        return count;
    }

    /// <summary>Feeds bytes; null when any is rejected.</summary>
    public static JsonState? Step(JsonState? state, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (state is null) return null;
            state = state.Top.Step(state, b);
        }
        return state;
    }

    internal sealed class JsonState(JsonFrame top, JsonState? rest)
    {
        public JsonFrame Top { get; } = top;

        public JsonState? Rest { get; } = rest;

        /// <summary>The value is complete: nothing but end of output may follow.</summary>
        public bool IsDone => Top is DoneFrame;

        /// <summary>The output may end here (a complete value, possibly extendable like a number).</summary>
        public bool CanEnd
        {
            get
            {
                for (JsonState? s = this; s is not null; s = s.Rest)
                {
                    if (s.Top is DoneFrame) return true;
                    if (!s.Top.CanEndHere) return false;
                }
                return false;
            }
        }

        /// <summary>The fewest bytes that complete the output from this state (compact JSON).</summary>
        public int MinimumBytesToComplete()
        {
            int total = 0;
            for (JsonState? s = this; s is not null; s = s.Rest)
            {
                total += s.Top.BytesToClose(childActive: !ReferenceEquals(s, this));
            }
            return total;
        }

        public JsonState Replace(JsonFrame frame) => new(frame, Rest);

        public JsonState Push(JsonFrame frame) => new(frame, this);

        /// <summary>Pops this frame, telling the parent which alternative completed.</summary>
        public JsonState? Pop(int tag) => Rest is null ? null : Rest.Top.ChildDone(Rest, tag);

        /// <summary>Pops this frame and hands <paramref name="b"/> to the parent (a value ended without a closing byte).</summary>
        public JsonState? PopAndStep(int tag, byte b)
        {
            JsonState? parent = Pop(tag);
            return parent?.Top.Step(parent, b);
        }
    }

    internal abstract class JsonFrame
    {
        public abstract JsonState? Step(JsonState self, byte b);

        public virtual JsonState? ChildDone(JsonState self, int tag) => self;

        /// <summary>
        /// A byte <c>b</c> such that <see cref="Step"/> rejects every byte but <c>b</c> (it may reject <c>b</c> too), or -1 when the
        /// frame may accept several or cannot tell cheaply. Lets forced text be found without stepping all 256 bytes.
        /// </summary>
        public virtual int OnlyByte(JsonState self) => -1;

        /// <summary>This frame's value can end at end of input (numbers, literals whose match is complete).</summary>
        public virtual bool CanEndHere => false;

        /// <summary>
        /// The fewest bytes this frame still needs, not counting a child frame above it (<paramref name="childActive"/>: one is open,
        /// e.g. a key or value being written).
        /// </summary>
        public abstract int BytesToClose(bool childActive);
    }

    private sealed class DoneFrame : JsonFrame
    {
        public static readonly DoneFrame Instance = new();

        public override JsonState? Step(JsonState self, byte b) => null;

        public override bool CanEndHere => true;

        public override int BytesToClose(bool childActive) => 0;
    }

    private sealed class ValueFrame(JsonSchemaNode schema) : JsonFrame
    {
        public override int BytesToClose(bool childActive) => schema.MinimumValueBytes;

        public override int OnlyByte(JsonState self)
        {
            if (schema.EnumLiterals is { } literals) return LiteralFrame.OnlyNextByte(literals, 0);
            // Numbers and booleans start with several bytes; each other type with one.
            if (schema.Allows(JsonTypes.Number | JsonTypes.Integer | JsonTypes.Boolean)) return -1;
            int only = -1, kinds = 0;
            if (schema.Allows(JsonTypes.Object)) (only, kinds) = ('{', kinds + 1);
            if (schema.Allows(JsonTypes.Array)) (only, kinds) = ('[', kinds + 1);
            if (schema.Allows(JsonTypes.String)) (only, kinds) = ('"', kinds + 1);
            if (schema.Allows(JsonTypes.Null)) (only, kinds) = ('n', kinds + 1);
            return kinds == 1 ? only : -1;
        }

        public override JsonState? Step(JsonState self, byte b)
        {
            if (schema.EnumLiterals is { } literals)
            {
                return new LiteralFrame(literals, 0).Step(self.Replace(new LiteralFrame(literals, 0)), b);
            }
            switch (b)
            {
                case (byte)'{' when schema.Allows(JsonTypes.Object):
                    return self.Replace(new ObjectFrame(schema, ObjectPhase.Open, 0, -1));
                case (byte)'[' when schema.Allows(JsonTypes.Array):
                    return self.Replace(new ArrayFrame(schema, ArrayPhase.Open, 0));
                case (byte)'"' when schema.Allows(JsonTypes.String):
                    return self.Replace(new StringFrame(schema.MinLength, schema.MaxLength, 0, 0, 0, 0));
                case (byte)'-' or (>= (byte)'0' and <= (byte)'9') when schema.Allows(JsonTypes.Number | JsonTypes.Integer):
                    var number = new NumberFrame(!schema.Allows(JsonTypes.Number), NumberPhase.Start, 0);
                    return number.Step(self.Replace(number), b);
                case (byte)'t' or (byte)'f' when schema.Allows(JsonTypes.Boolean):
                    var boolean = new LiteralFrame(["true"u8.ToArray(), "false"u8.ToArray()], 0);
                    return boolean.Step(self.Replace(boolean), b);
                case (byte)'n' when schema.Allows(JsonTypes.Null):
                    var nil = new LiteralFrame(["null"u8.ToArray()], 0);
                    return nil.Step(self.Replace(nil), b);
                default:
                    return null;
            }
        }
    }

    /// <summary>Matches one of several byte strings; completes as soon as the match is unambiguous.</summary>
    /// <param name="candidates">The byte strings; ruled-out ones become empty, so indexes (tags) stay stable.</param>
    /// <param name="matched">Bytes matched so far.</param>
    /// <param name="tails">Optional fewest bytes the parent still needs after each candidate (keys and tool names choose what follows).</param>
    private sealed class LiteralFrame(byte[][] candidates, int matched, int[]? tails = null) : JsonFrame
    {
        public override int BytesToClose(bool childActive)
        {
            int best = int.MaxValue;
            for (int i = 0; i < candidates.Length; i++)
            {
                byte[] c = candidates[i];
                if (c.Length >= matched && (c.Length > 0 || matched == 0)) best = Math.Min(best, c.Length - matched + (tails?[i] ?? 0));
            }
            return best == int.MaxValue ? 0 : best;
        }

        public override bool CanEndHere => CompleteIndex() >= 0;

        public override int OnlyByte(JsonState self) => OnlyNextByte(candidates, matched);

        /// <summary>
        /// The next byte of every live candidate when they all agree and none is complete (a complete one would hand any other
        /// byte to the parent), else -1.
        /// </summary>
        internal static int OnlyNextByte(byte[][] candidates, int matched)
        {
            int only = -1;
            foreach (byte[] c in candidates)
            {
                if (c.Length == matched) return -1;
                if (c.Length < matched) continue;
                if (only < 0) only = c[matched];
                else if (only != c[matched]) return -1;
            }
            return only;
        }

        private int CompleteIndex()
        {
            for (int i = 0; i < candidates.Length; i++)
            {
                if (candidates[i].Length == matched) return i;
            }
            return -1;
        }

        public override JsonState? Step(JsonState self, byte b)
        {
            bool any = false, longer = false;
            int complete = -1;
            for (int i = 0; i < candidates.Length; i++)
            {
                byte[] c = candidates[i];
                if (c.Length > matched && c[matched] == b)
                {
                    any = true;
                    if (c.Length == matched + 1) complete = complete < 0 ? i : complete;
                    else longer = true;
                }
            }
            if (!any)
            {
                int done = CompleteIndex();
                return done >= 0 ? self.PopAndStep(done, b) : null;
            }
            var next = new LiteralFrame(Narrow(b), matched + 1, tails);
            if (complete >= 0 && !longer)
            {
                return self.Pop(complete);
            }
            return self.Replace(next);
        }

        // Candidates keep their positions so the completed index (the tag) stays stable; ruled-out ones become empty.
        private byte[][] Narrow(byte b) => candidates.Select(c => c.Length > matched && c[matched] == b ? c : []).ToArray();
    }

    private enum ObjectPhase { Open, AfterKey, AfterValue, AfterComma, FreeKey }

    private sealed class ObjectFrame(JsonSchemaNode schema, ObjectPhase phase, int next, int current) : JsonFrame
    {
        public override int BytesToClose(bool childActive)
        {
            if (schema.FreeFormObject)
            {
                return phase switch
                {
                    ObjectPhase.FreeKey or ObjectPhase.AfterKey => 1 + 1 + 1,        // ':' + a one-byte value + '}'
                    ObjectPhase.AfterComma => childActive ? 3 : 2 + 1 + 1 + 1,        // a key "" : 0 }
                    _ => 1,
                };
            }
            switch (phase)
            {
                case ObjectPhase.Open:
                case ObjectPhase.AfterComma:
                    // While a key is being written, its literal frame carries what follows each candidate key.
                    if (childActive) return 0;
                    return phase == ObjectPhase.Open ? schema.RequiredBytesFrom(next, first: true) : CheapestAfterComma();
                case ObjectPhase.AfterKey:
                    return 1 + (current >= 0 ? schema.Properties[current].Schema.MinimumValueBytes + schema.RequiredBytesFrom(current + 1, first: false) : 1 + 1);
                default:
                    return schema.RequiredBytesFrom(next, first: false);
            }
        }

        public override int OnlyByte(JsonState self) => phase switch
        {
            ObjectPhase.AfterKey => ':',
            ObjectPhase.AfterComma => '"',
            ObjectPhase.Open => schema.FreeFormObject || NoRequiredLeft() ? -1 : '"',
            ObjectPhase.AfterValue => NoRequiredLeft() ? (schema.FreeFormObject || Candidates().Length > 0 ? -1 : '}') : ',',
            _ => -1,
        };

        private int CheapestAfterComma()
        {
            int best = int.MaxValue;
            foreach (int i in Candidates())
            {
                best = Math.Min(best, JsonSchemaNode.KeyBytes(schema.Properties[i].Name) + 1 + schema.Properties[i].Schema.MinimumValueBytes + schema.RequiredBytesFrom(i + 1, first: false));
            }
            return best == int.MaxValue ? 1 : best;
        }

        public override JsonState? Step(JsonState self, byte b)
        {
            switch (phase)
            {
                case ObjectPhase.Open when b == (byte)'}':
                case ObjectPhase.AfterValue when b == (byte)'}':
                    return NoRequiredLeft() ? self.Pop(-1) : null;
                case ObjectPhase.AfterValue when b == (byte)',':
                    return schema.FreeFormObject || Candidates().Length > 0 ? self.Replace(new ObjectFrame(schema, ObjectPhase.AfterComma, next, -1)) : null;
                case ObjectPhase.Open or ObjectPhase.AfterComma when b == (byte)'"':
                    if (schema.FreeFormObject)
                    {
                        return self.Replace(new ObjectFrame(schema, ObjectPhase.FreeKey, next, -1)).Push(new StringFrame(0, JsonSchemaNode.DefaultMaxStringLength, 0, 0, 0, 0));
                    }
                    int[] candidates = Candidates();
                    byte[][] keys = candidates.Select(i => Encoding.UTF8.GetBytes(JsonStringLiteral(schema.Properties[i].Name))).ToArray();
                    if (keys.Length == 0) return null;
                    int[] tails = candidates.Select(i => 1 + schema.Properties[i].Schema.MinimumValueBytes + schema.RequiredBytesFrom(i + 1, first: false)).ToArray();
                    var key = new LiteralFrame(keys, 0, tails);
                    return key.Step(self.Push(key), b);
                case ObjectPhase.AfterKey when b == (byte)':':
                    JsonSchemaNode valueSchema = current >= 0 ? schema.Properties[current].Schema : JsonSchemaNode.AnyValue;
                    return self.Replace(new ObjectFrame(schema, ObjectPhase.AfterValue, current >= 0 ? current + 1 : next, -1)).Push(new ValueFrame(valueSchema));
                default:
                    return null;
            }
        }

        public override JsonState? ChildDone(JsonState self, int tag)
        {
            if (phase is ObjectPhase.Open or ObjectPhase.AfterComma)
            {
                return self.Replace(new ObjectFrame(schema, ObjectPhase.AfterKey, next, Candidates()[tag]));
            }
            if (phase == ObjectPhase.FreeKey)
            {
                return self.Replace(new ObjectFrame(schema, ObjectPhase.AfterKey, next, -1));
            }
            return self;
        }

        // Properties come in declared order; optional ones may be skipped, required ones may not.
        private int[] Candidates()
        {
            var list = new List<int>();
            for (int i = next; i < schema.Properties.Count; i++)
            {
                list.Add(i);
                if (schema.Required.Contains(schema.Properties[i].Name)) break;
            }
            return [.. list];
        }

        private bool NoRequiredLeft()
        {
            for (int i = next; i < schema.Properties.Count; i++)
            {
                if (schema.Required.Contains(schema.Properties[i].Name)) return false;
            }
            return true;
        }
    }

    private enum ArrayPhase { Open, AfterValue, AfterComma }

    private sealed class ArrayFrame(JsonSchemaNode schema, ArrayPhase phase, int count) : JsonFrame
    {
        public override int BytesToClose(bool childActive)
        {
            int item = (schema.Items ?? JsonSchemaNode.AnyValue).MinimumValueBytes;
            int missing = Math.Max(0, schema.MinItems - count);
            return phase switch
            {
                ArrayPhase.Open => missing == 0 ? 1 : missing * item + missing - 1 + 1,
                ArrayPhase.AfterComma => item + Math.Max(0, missing - 1) * (item + 1) + 1,
                _ => missing * (item + 1) + 1,
            };
        }

        public override JsonState? Step(JsonState self, byte b)
        {
            if (b == (byte)']' && phase is ArrayPhase.Open or ArrayPhase.AfterValue)
            {
                return count >= schema.MinItems ? self.Pop(-1) : null;
            }
            if (phase == ArrayPhase.AfterValue)
            {
                return b == (byte)',' && count < schema.MaxItems ? self.Replace(new ArrayFrame(schema, ArrayPhase.AfterComma, count)) : null;
            }
            if (count >= schema.MaxItems) return null;
            var item = new ValueFrame(schema.Items ?? JsonSchemaNode.AnyValue);
            JsonState pushed = self.Replace(new ArrayFrame(schema, ArrayPhase.AfterValue, count + 1)).Push(item);
            return item.Step(pushed, b);
        }
    }

    /// <summary>
    /// A string body: valid UTF-8 only (no overlongs, surrogates or code points above U+10FFFF), JSON escapes (no lone-surrogate
    /// \\u escapes), no raw control characters, and a length in code points between the schema's bounds.
    /// </summary>
    private sealed class StringFrame(int minLength, int maxLength, int length, int continuation, int hexLeft, int escape, byte nextLo = 0x80, byte nextHi = 0xBF) : JsonFrame
    {
        public bool IsBetweenCharacters => continuation == 0 && hexLeft == 0 && escape == 0;

        public int Length => length;

        public int MaxLength => maxLength;

        public override int BytesToClose(bool childActive)
            => hexLeft + (escape == 1 ? 1 : 0) + continuation + Math.Max(0, minLength - length) + 1;

        public override JsonState? Step(JsonState self, byte b)
        {
            if (hexLeft > 0)
            {
                if (!Uri.IsHexDigit((char)b)) return null;
                // Escapes \uD800-\uDFFF are surrogate halves: rejected so every string decodes cleanly.
                if (hexLeft == 4 && b is (byte)'d' or (byte)'D') return self.Replace(new StringFrame(minLength, maxLength, length, 0, 3, 2));
                if (escape == 2 && !(b is >= (byte)'0' and <= (byte)'7')) return null;
                return self.Replace(new StringFrame(minLength, maxLength, length, 0, hexLeft - 1, 0));
            }
            if (escape == 1)
            {
                return b switch
                {
                    (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' => self.Replace(new StringFrame(minLength, maxLength, length, 0, 0, 0)),
                    (byte)'u' => self.Replace(new StringFrame(minLength, maxLength, length, 0, 4, 0)),
                    _ => null,
                };
            }
            if (continuation > 0)
            {
                return b >= nextLo && b <= nextHi ? self.Replace(new StringFrame(minLength, maxLength, length, continuation - 1, 0, 0)) : null;
            }
            if (b == (byte)'"')
            {
                return length >= minLength ? self.Pop(-1) : null;
            }
            if (b < 0x20 || length >= maxLength) return null;
            if (b == (byte)'\\') return self.Replace(new StringFrame(minLength, maxLength, length + 1, 0, 0, 1));
            return b switch
            {
                < 0x80 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 0, 0, 0)),
                >= 0xC2 and <= 0xDF => self.Replace(new StringFrame(minLength, maxLength, length + 1, 1, 0, 0)),
                0xE0 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 2, 0, 0, 0xA0, 0xBF)),
                0xED => self.Replace(new StringFrame(minLength, maxLength, length + 1, 2, 0, 0, 0x80, 0x9F)),
                >= 0xE1 and <= 0xEF => self.Replace(new StringFrame(minLength, maxLength, length + 1, 2, 0, 0)),
                0xF0 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 3, 0, 0, 0x90, 0xBF)),
                >= 0xF1 and <= 0xF3 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 3, 0, 0)),
                0xF4 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 3, 0, 0, 0x80, 0x8F)),
                _ => null,
            };
        }
    }

    private enum NumberPhase { Start, Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits }

    private sealed class NumberFrame(bool integerOnly, NumberPhase phase, int chars, bool negative = false) : JsonFrame
    {
        // An integer's only non-digit character is its minus sign.
        private int DigitsSoFar() => chars - (negative ? 1 : 0);

        public override bool CanEndHere => phase is NumberPhase.Zero or NumberPhase.Int or NumberPhase.Frac or NumberPhase.ExpDigits;

        public override int BytesToClose(bool childActive) => CanEndHere ? 0 : 1;

        public override JsonState? Step(JsonState self, byte b)
        {
            bool digit = b is >= (byte)'0' and <= (byte)'9';
            NumberPhase? next = phase switch
            {
                NumberPhase.Start when b == (byte)'-' => NumberPhase.Minus,
                NumberPhase.Start or NumberPhase.Minus when b == (byte)'0' => NumberPhase.Zero,
                NumberPhase.Start or NumberPhase.Minus when digit => NumberPhase.Int,
                NumberPhase.Int when digit => NumberPhase.Int,
                NumberPhase.Zero or NumberPhase.Int when b == (byte)'.' && !integerOnly => NumberPhase.Dot,
                NumberPhase.Zero or NumberPhase.Int or NumberPhase.Frac when b is (byte)'e' or (byte)'E' && !integerOnly => NumberPhase.Exp,
                NumberPhase.Dot or NumberPhase.Frac when digit => NumberPhase.Frac,
                NumberPhase.Exp when b is (byte)'+' or (byte)'-' => NumberPhase.ExpSign,
                NumberPhase.Exp or NumberPhase.ExpSign or NumberPhase.ExpDigits when digit => NumberPhase.ExpDigits,
                _ => null,
            };
            if (next is { } n && chars < MaxNumberChars && !(integerOnly && digit && DigitsSoFar() >= MaxIntegerDigits))
            {
                return self.Replace(new NumberFrame(integerOnly, n, chars + 1, negative || n == NumberPhase.Minus));
            }
            return CanEndHere ? self.PopAndStep(-1, b) : null;
        }
    }

    private sealed class ToolCallFrame(IReadOnlyList<(string Name, JsonSchemaNode Arguments)> tools, int chosen) : JsonFrame
    {
        // Before the name is chosen, the name literal's tails carry the arguments and the closing brace.
        public override int BytesToClose(bool childActive) => chosen >= 0 ? 1 : 0;

        public int Chosen => chosen;

        public override int OnlyByte(JsonState self) => chosen >= 0 ? '}' : -1;

        public override JsonState? Step(JsonState self, byte b)
            => chosen >= 0 && b == (byte)'}' ? self.Pop(-1) : null;

        public override JsonState? ChildDone(JsonState self, int tag)
        {
            if (chosen >= 0) return self;
            return self.Replace(new ToolCallFrame(tools, tag)).Push(new ValueFrame(tools[tag].Arguments));
        }
    }
}
