using System;
using System.Text;

namespace Fusion.Generator.Emit
{
    /// <summary>A minimal writer for readable generated C#: lines, indentation and braced blocks.</summary>
    internal sealed class IndentedWriter
    {
        private readonly StringBuilder _text = new();
        private int _depth;

        public IndentedWriter Line(string line = "")
        {
            if (line.Length > 0) _text.Append(' ', _depth * 4).Append(line);
            _text.Append('\n');
            return this;
        }

        /// <summary>Writes multi-line text as it is: its first line indented, the rest untouched (verbatim strings).</summary>
        public IndentedWriter Verbatim(string text)
        {
            _text.Append(' ', _depth * 4).Append(text.Replace("\r\n", "\n"));
            _text.Append('\n');
            return this;
        }

        /// <summary>Writes <paramref name="header"/>, an opening brace, then indents until the returned scope is disposed.</summary>
        public IDisposable Block(string header, string closing = "}")
        {
            Line(header);
            Line("{");
            _depth++;
            return new Scope(this, closing);
        }

        public override string ToString() => _text.ToString();

        private sealed class Scope : IDisposable
        {
            private readonly IndentedWriter _writer;
            private readonly string _closing;

            public Scope(IndentedWriter writer, string closing)
            {
                _writer = writer;
                _closing = closing;
            }

            public void Dispose()
            {
                _writer._depth--;
                _writer.Line(_closing);
            }
        }
    }
}
