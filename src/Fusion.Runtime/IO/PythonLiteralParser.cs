using System.Globalization;

namespace Fusion.IO;

/// <summary>
/// A strict parser for the Python literal subset a .npy header uses: a dict with string keys whose
/// values are strings, True/False/None, integers (a Python 2 'L' suffix allowed) and tuples or
/// lists of those. Values come back as string, bool, null, long or <see cref="PythonSequence"/>.
/// </summary>
internal sealed class PythonLiteralParser
{
    private const int MaxDepth = 8;

    private readonly string _path;
    private readonly string _text;
    private int _pos;

    private PythonLiteralParser(string path, string text)
    {
        _path = path;
        _text = text;
    }

    /// <summary>Parses <paramref name="text"/> as exactly one dict literal, surrounded by nothing but whitespace.</summary>
    public static Dictionary<string, object?> ParseDict(string path, string text)
    {
        var parser = new PythonLiteralParser(path, text);
        parser.SkipWhitespace();
        if (parser.Peek() != '{')
            throw parser.Error("header must be a Python dict literal starting with '{'");
        var dict = parser.ParseDictBody(depth: 1);
        parser.SkipWhitespace();
        if (parser._pos != text.Length)
            throw parser.Error($"unexpected '{text[parser._pos]}' after the header dict");
        return dict;
    }

    private Dictionary<string, object?> ParseDictBody(int depth)
    {
        Expect('{');
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (true)
        {
            SkipWhitespace();
            if (Peek() == '}') { _pos++; return dict; }
            if (Peek() is not ('\'' or '"'))
                throw Error("header dict keys must be quoted strings");
            var key = ParseString();
            SkipWhitespace();
            Expect(':');
            SkipWhitespace();
            if (!dict.TryAdd(key, ParseValue(depth)))
                throw Error($"header key '{key}' appears more than once");
            if (!AfterItem('}')) return dict;
        }
    }

    private object? ParseValue(int depth)
    {
        if (depth > MaxDepth)
            throw Error($"header nests deeper than {MaxDepth} levels");
        char c = Peek();
        return c switch
        {
            '\'' or '"' => ParseString(),
            '(' => ParseSequence('(', ')', depth + 1, isTuple: true),
            '[' => ParseSequence('[', ']', depth + 1, isTuple: false),
            '{' => throw Error("nested dicts are not supported in the header"),
            '-' or (>= '0' and <= '9') => ParseInteger(),
            _ when char.IsAsciiLetter(c) || c == '_' => ParseName(),
            '\0' => throw Error("header ends in the middle of the dict"),
            _ => throw Error($"unexpected '{c}'"),
        };
    }

    /// <summary>A tuple or list. "(x)" without a comma is just x, as in Python; "(x,)" and "()" are tuples.</summary>
    private object? ParseSequence(char open, char close, int depth, bool isTuple)
    {
        Expect(open);
        var items = new List<object?>();
        bool sawComma = false;
        while (true)
        {
            SkipWhitespace();
            if (Peek() == close) { _pos++; break; }
            items.Add(ParseValue(depth));
            if (!AfterItem(close)) break;
            sawComma = true;
        }
        if (isTuple && items.Count == 1 && !sawComma) return items[0];
        return new PythonSequence(items, isTuple);
    }

    /// <summary>After an item: consumes ", " (true: more may follow) or the closing bracket (false).</summary>
    private bool AfterItem(char close)
    {
        SkipWhitespace();
        if (Peek() == ',') { _pos++; return true; }
        if (Peek() == close) { _pos++; return false; }
        throw Error(Peek() == '\0' ? "header ends in the middle of the dict" : $"expected ',' or '{close}', found '{Peek()}'");
    }

    private string ParseString()
    {
        char quote = _text[_pos++];
        int start = _pos;
        while (_pos < _text.Length && _text[_pos] != quote)
        {
            if (_text[_pos] is '\\' or '\n' or '\r')
                throw Error("header strings may not contain escapes or line breaks");
            _pos++;
        }
        if (_pos == _text.Length)
            throw Error("header has an unterminated string");
        return _text[start.._pos++];
    }

    private long ParseInteger()
    {
        int start = _pos;
        if (Peek() == '-') _pos++;
        int digits = _pos;
        while (char.IsAsciiDigit(Peek())) _pos++;
        if (_pos == digits)
            throw Error("'-' must be followed by digits");
        var text = _text[start.._pos];
        if (Peek() == 'L') _pos++; // Python 2 wrote long integers as 3L
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
            throw Error($"integer {text} does not fit in 64 bits");
        return value;
    }

    private object? ParseName()
    {
        int start = _pos;
        while (char.IsAsciiLetterOrDigit(Peek()) || Peek() == '_') _pos++;
        var name = _text[start.._pos];
        return name switch
        {
            "True" => true,
            "False" => false,
            "None" => null,
            _ => throw Error($"unsupported name '{name}' (only True, False and None)"),
        };
    }

    private void Expect(char c)
    {
        if (Peek() != c)
            throw Error(Peek() == '\0' ? $"header ends where '{c}' was expected" : $"expected '{c}', found '{Peek()}'");
        _pos++;
    }

    private char Peek() => _pos < _text.Length ? _text[_pos] : '\0';

    private void SkipWhitespace()
    {
        while (Peek() is ' ' or '\t' or '\n' or '\r') _pos++;
    }

    private NpyFormatException Error(string rule) => new(_path, $"{rule} (header position {_pos})");
}

/// <summary>A parsed Python tuple or list.</summary>
internal sealed record PythonSequence(IReadOnlyList<object?> Items, bool IsTuple);
