using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Fusion.Generator.Model
{
    /// <summary>A source location as plain values (a <see cref="Location"/> would pin the syntax tree in the cache).</summary>
    internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
    {
        public static LocationInfo? From(SyntaxNode? node) => From(node?.GetLocation());

        public static LocationInfo? From(Location? location)
        {
            if (location is null || location.SourceTree is null) return null;
            return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
        }

        public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

        /// <summary>"File.cs(12,5)" for reports and comments.</summary>
        public string Describe() => $"{System.IO.Path.GetFileName(FilePath)}({LineSpan.Start.Line + 1},{LineSpan.Start.Character + 1})";
    }
}
