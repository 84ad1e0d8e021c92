using System;
using System.Text;

namespace Fusion.Compiler
{
    /// <summary>Indented source text for the kernel printers: lines, and blocks that indent what is written inside them.</summary>
    internal sealed class SourceBuilder
    {
        private readonly StringBuilder _text = new();
        private int _indent;

        public void Line(string text = "")
        {
            if (text.Length > 0) _text.Append(' ', 4 * _indent).Append(text);
            _text.Append('\n');
        }

        /// <summary>"head {" … "}"; a head that is a comment ("// …") opens a bare block with the comment on its brace line.</summary>
        public IDisposable Block(string head)
        {
            if (head.StartsWith("//", StringComparison.Ordinal))
            {
                Line("{ " + head);
            }
            else
            {
                Line(head);
                Line("{");
            }
            _indent++;
            return new Closer(this);
        }

        /// <summary>Indents what follows by one level (a function body after its signature and brace).</summary>
        public void Indent() => _indent++;

        /// <summary>Closes one level with "}".</summary>
        public void Close()
        {
            _indent--;
            Line("}");
        }

        public override string ToString() => _text.ToString();

        private sealed class Closer(SourceBuilder b) : IDisposable
        {
            public void Dispose() => b.Close();
        }
    }
}
