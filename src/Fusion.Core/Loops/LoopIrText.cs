using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Fusion.Compiler
{
    /// <summary>
    /// The loop IR as text, one line per declaration or instruction. The generator writes it into the generated file (the
    /// user reads it; the CPU backend parses and runs it), so printing and parsing round-trip exactly:
    /// <code>
    /// kernel add_gelu_f16_37
    /// domain [N, 37]
    /// in a f16 [N, 37]
    /// out y f16 [N, 37]
    /// %0 = load a[37*v0 + v1]
    /// %1 = gelu … (ops on earlier values)
    /// store y[37*v0 + v1] = %1
    /// </code>
    /// A reduction adds <c>reduce v1 37</c> to the domain line (the variable and its extent); a store that adds into a float32
    /// buffer which starts at zero (<see cref="StoreInstr.Accumulate"/>) reads <c>accumulate y[v0] += %1</c>.
    /// </summary>
    internal static class LoopIrText
    {
        public static string Print(LoopKernel kernel)
        {
            var s = new StringBuilder();
            s.Append("kernel ").Append(kernel.Name).Append('\n');
            s.Append("domain ").Append(Dims.Text(kernel.Domain));
            if (kernel.HasReduction) s.Append(" reduce v").Append(kernel.ReduceVar.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(kernel.ReduceExtent.ToString(CultureInfo.InvariantCulture));
            s.Append('\n');
            foreach (var b in kernel.Buffers)
                s.Append(Role(b.Role)).Append(' ').Append(b.Name).Append(' ').Append(b.Type.Short()).Append(' ').Append(Dims.Text(b.Shape)).Append('\n');
            foreach (var instr in kernel.Body) s.Append(Line(kernel, instr)).Append('\n');
            return s.ToString();
        }

        public static string Line(LoopKernel kernel, Instr instr)
        {
            string v = "%" + instr.Id.ToString(CultureInfo.InvariantCulture) + " = ";
            return instr switch
            {
                ConstInstr c => v + "const " + Number(c.Value),
                LoadInstr l => v + "load " + kernel.Buffers[l.Buffer].Name + "[" + l.Offset + "]"
                    + (l.Guard.Count == 0 ? "" : " when " + Bounds(l.Guard) + " else " + Number(l.Otherwise)),
                PredicateInstr p => v + "inside " + Bounds(p.Bounds),
                OpInstr o => v + ScalarOps.Name(o.Op) + " " + string.Join(" ", o.Args.Select(a => "%" + a.ToString(CultureInfo.InvariantCulture))),
                ReduceInstr r => v + "reduce." + r.Kind.ToString().ToLowerInvariant() + " %" + r.Arg.ToString(CultureInfo.InvariantCulture),
                StoreInstr { Accumulate: true } st => "accumulate " + kernel.Buffers[st.Buffer].Name + "[" + st.Offset + "] += %" + st.Value.ToString(CultureInfo.InvariantCulture),
                StoreInstr st => "store " + kernel.Buffers[st.Buffer].Name + "[" + st.Offset + "] = %" + st.Value.ToString(CultureInfo.InvariantCulture),
                _ => throw new InvalidOperationException("unknown instruction " + instr.GetType().Name),
            };
        }

        private static string Bounds(EquatableArray<IndexBound> bounds) =>
            string.Join("; ", bounds.Select(b => $"{b.Lo.ToString(CultureInfo.InvariantCulture)} <= {b.Expr} < {b.Hi.ToString(CultureInfo.InvariantCulture)}"));

        public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        private static string Role(BufferRole role) => role switch
        {
            BufferRole.Input => "in",
            BufferRole.Output => "out",
            _ => "acc",
        };

        /// <summary>Parses <see cref="Print"/>'s text; a malformed line throws a <see cref="FormatException"/> naming it.</summary>
        public static LoopKernel Parse(string text)
        {
            string current = "";
            try
            {
                return Parse(text, line => current = line);
            }
            catch (Exception e) when (e is FormatException or OverflowException && !e.Data.Contains(NamesItsLine))
            {
                // A number or index expression that does not parse: say on which line.
                throw Bad(current, e.Message);
            }
        }

        private static LoopKernel Parse(string text, Action<string> reading)
        {
            var lines = text.Replace("\r\n", "\n").Split('\n').Where(l => l.Trim().Length > 0).ToList();
            int at = 0;
            string Take()
            {
                reading(lines[at]);
                return lines[at++];
            }
            string Next(string expected)
            {
                if (at >= lines.Count) throw Marked(new FormatException($"loop IR ends before its {expected} line"));
                return Take();
            }
            var header = Next("kernel");
            if (!header.StartsWith("kernel ", StringComparison.Ordinal)) throw Bad(header, "expected 'kernel NAME'");
            string name = header.Substring(7).Trim();
            var domainLine = Next("domain");
            if (!domainLine.StartsWith("domain ", StringComparison.Ordinal)) throw Bad(domainLine, "expected 'domain [..]'");
            int close = domainLine.IndexOf(']');
            if (close < 0) throw Bad(domainLine, "expected 'domain [..]'");
            var domain = ParseDims(domainLine.Substring(7, close - 6), domainLine);
            int reduceVar = -1;
            long reduceExtent = 0;
            var rest = domainLine.Substring(close + 1).Trim();
            if (rest.Length > 0)
            {
                var parts = rest.Split(' ');
                if (parts.Length != 3 || parts[0] != "reduce" || !parts[1].StartsWith("v", StringComparison.Ordinal)) throw Bad(domainLine, "expected 'reduce vK EXTENT'");
                reduceVar = int.Parse(parts[1].Substring(1), CultureInfo.InvariantCulture);
                reduceExtent = long.Parse(parts[2], CultureInfo.InvariantCulture);
            }

            var buffers = new List<KernelBuffer>();
            while (at < lines.Count && !lines[at].StartsWith("%", StringComparison.Ordinal) && !lines[at].StartsWith("store ", StringComparison.Ordinal)
                && !lines[at].StartsWith("accumulate ", StringComparison.Ordinal))
            {
                var line = Take();
                var parts = line.Split(new[] { ' ' }, 4);
                if (parts.Length != 4) throw Bad(line, "expected 'in|out|acc NAME f16|f32|i8|f8|io [dims]'");
                var role = parts[0] switch
                {
                    "in" => BufferRole.Input,
                    "out" => BufferRole.Output,
                    "acc" => BufferRole.Accumulator,
                    _ => throw Bad(line, "a buffer's role is in, out or acc"),
                };
                var type = parts[2] switch
                {
                    "f16" => FloatType.F16,
                    "f32" => FloatType.F32,
                    "io" => FloatType.Io,
                    "i8" => FloatType.I8,
                    "f8" => FloatType.F8,
                    _ => throw Bad(line, "a buffer's type is f16, f32, i8, f8 or io"),
                };
                buffers.Add(new KernelBuffer(parts[1], role, type, ParseDims(parts[3], line).ToEquatableArray()));
            }
            int BufferIndex(string bufferName, string line)
            {
                int index = buffers.FindIndex(b => b.Name == bufferName);
                return index >= 0 ? index : throw Bad(line, $"no buffer '{bufferName}'");
            }

            var body = new List<Instr>();
            while (at < lines.Count)
            {
                var line = Take();
                int id = body.Count;
                bool accumulate = line.StartsWith("accumulate ", StringComparison.Ordinal);
                if (accumulate || line.StartsWith("store ", StringComparison.Ordinal))
                {
                    string keyword = accumulate ? "accumulate " : "store ", assign = accumulate ? "+= %" : "= %";
                    int open = line.IndexOf('['), end = line.LastIndexOf(']'), eq = line.LastIndexOf(assign, StringComparison.Ordinal);
                    if (open < 0 || end < open || eq < end) throw Bad(line, $"expected '{keyword}NAME[OFFSET] {assign}K'");
                    var store = new StoreInstr(id, BufferIndex(line.Substring(keyword.Length, open - keyword.Length), line), IndexText.Parse(line.Substring(open + 1, end - open - 1)),
                        Value(line.Substring(eq + assign.Length - 1), id, line), accumulate);
                    if (accumulate && reduceVar >= 0) throw Bad(line, "accumulating stores appear only in kernels without a reduction variable");
                    if (accumulate && buffers[store.Buffer].Type != FloatType.F32) throw Bad(line, $"'{buffers[store.Buffer].Name}' is {buffers[store.Buffer].Type.Short()}: accumulating stores add into float32 buffers");
                    body.Add(store);
                    continue;
                }
                string prefix = "%" + id.ToString(CultureInfo.InvariantCulture) + " = ";
                if (!line.StartsWith(prefix, StringComparison.Ordinal)) throw Bad(line, $"expected instruction {prefix.Trim()}");
                var rhs = line.Substring(prefix.Length);
                int space = rhs.IndexOf(' ');
                var verb = space < 0 ? rhs : rhs.Substring(0, space);
                var args = space < 0 ? "" : rhs.Substring(space + 1);
                if (verb == "const")
                {
                    body.Add(new ConstInstr(id, double.Parse(args, CultureInfo.InvariantCulture)));
                }
                else if (verb == "load")
                {
                    int open = args.IndexOf('['), end = args.IndexOf(']');
                    if (open < 0 || end < open) throw Bad(line, "expected 'load NAME[OFFSET]'");
                    var guard = EquatableArray<IndexBound>.Empty;
                    double otherwise = 0;
                    var tail = args.Substring(end + 1).Trim();
                    if (tail.Length > 0)
                    {
                        int elseAt = tail.LastIndexOf(" else ", StringComparison.Ordinal);
                        if (!tail.StartsWith("when ", StringComparison.Ordinal) || elseAt < 0) throw Bad(line, "expected 'when BOUNDS else VALUE'");
                        guard = ParseBounds(tail.Substring(5, elseAt - 5), line);
                        otherwise = double.Parse(tail.Substring(elseAt + 6), CultureInfo.InvariantCulture);
                    }
                    body.Add(new LoadInstr(id, BufferIndex(args.Substring(0, open), line), IndexText.Parse(args.Substring(open + 1, end - open - 1)), guard, otherwise));
                }
                else if (verb == "inside")
                {
                    body.Add(new PredicateInstr(id, ParseBounds(args, line)));
                }
                else if (verb.StartsWith("reduce.", StringComparison.Ordinal))
                {
                    var kind = verb.Substring(7) switch
                    {
                        "sum" => ReduceKind.Sum,
                        "max" => ReduceKind.Max,
                        "min" => ReduceKind.Min,
                        _ => throw Bad(line, "a reduction is reduce.sum, reduce.max or reduce.min"),
                    };
                    body.Add(new ReduceInstr(id, kind, Value(args, id, line)));
                }
                else if (ScalarOps.TryParse(verb, out var op))
                {
                    var operands = args.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries).Select(a => Value(a, id, line)).ToList();
                    if (operands.Count != ScalarOps.Arity(op)) throw Bad(line, $"{verb} takes {ScalarOps.Arity(op)} operands");
                    body.Add(new OpInstr(id, op, operands.ToEquatableArray()));
                }
                else
                {
                    throw Bad(line, $"unknown instruction '{verb}'");
                }
            }
            return new LoopKernel(name, buffers.ToEquatableArray(), domain.ToEquatableArray(), reduceVar, reduceExtent, body.ToEquatableArray());
        }

        private static EquatableArray<IndexBound> ParseBounds(string text, string line) =>
            text.Split(new[] { "; " }, StringSplitOptions.None).Select(part =>
            {
                int first = part.IndexOf(" <= ", StringComparison.Ordinal), last = part.LastIndexOf(" < ", StringComparison.Ordinal);
                if (first < 0 || last < first) throw Bad(line, "a bound is 'LO <= EXPR < HI'");
                return new IndexBound(IndexText.Parse(part.Substring(first + 4, last - first - 4)),
                    long.Parse(part.Substring(0, first), CultureInfo.InvariantCulture), long.Parse(part.Substring(last + 3), CultureInfo.InvariantCulture));
            }).ToEquatableArray();

        private static int Value(string text, int before, string line)
        {
            text = text.Trim();
            if (!text.StartsWith("%", StringComparison.Ordinal) || !int.TryParse(text.Substring(1), NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v >= before)
                throw Bad(line, $"'{text}' is not an earlier value");
            return v;
        }

        private static List<Dim> ParseDims(string text, string line)
        {
            text = text.Trim();
            if (!text.StartsWith("[", StringComparison.Ordinal) || !text.EndsWith("]", StringComparison.Ordinal)) throw Bad(line, "expected dimensions in brackets");
            var inner = text.Substring(1, text.Length - 2).Trim();
            return inner.Length == 0 ? new List<Dim>() : inner.Split(',').Select(d => Dim.Parse(d.Trim())).ToList();
        }

        private static FormatException Bad(string line, string why) => Marked(new FormatException($"loop IR line '{line}': {why}"));

        /// <summary>Marks a parse error that already names its line (so it is not wrapped again).</summary>
        private const string NamesItsLine = "Fusion.LoopIrText.NamesItsLine";

        private static FormatException Marked(FormatException e)
        {
            e.Data[NamesItsLine] = true;
            return e;
        }
    }
}
