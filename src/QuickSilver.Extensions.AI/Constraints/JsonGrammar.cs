using System.Text;
using static QuickSilver.Extensions.AI.Constraints.JsonSchemaNode;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// A byte-level pushdown automaton for compact JSON (no insignificant whitespace) that follows a <see cref="JsonSchemaNode"/>.
/// States are immutable stacks of immutable frames, so one state can be stepped along many bytes at once
/// (the token-trie walk branches without copying).
/// </summary>
internal static partial class JsonGrammar
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
}
