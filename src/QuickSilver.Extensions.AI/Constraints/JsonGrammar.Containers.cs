using System.Text;
using static QuickSilver.Extensions.AI.Constraints.JsonSchemaNode;

namespace QuickSilver.Extensions.AI.Constraints;

// The frames of JSON containers: objects (schema keys in order, required and optional), arrays and the tool-call envelope.
internal static partial class JsonGrammar
{
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
