using System.Diagnostics;
using System.Globalization;

namespace Fusion.Run;

/// <summary>
/// A live "label… 3.2 s" line for a long step (kernels compiling into a cold cache, a large weight file), redrawn in place
/// on a terminal and erased when the step ends. Nothing is written when disabled: output redirected to a file or a pipe,
/// or a writer other than the console (tests, scripts).
/// </summary>
internal sealed class Progress : IDisposable
{
    private static readonly TimeSpan s_delay = TimeSpan.FromMilliseconds(300); // quick steps never show a line
    private readonly TextWriter? _terminal;
    private readonly string _label;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer? _timer;
    private readonly object _lock = new();
    private bool _drawn;
    private bool _done;

    private Progress(TextWriter? terminal, string label)
    {
        _terminal = terminal;
        _label = label;
        if (terminal is not null) _timer = new Timer(_ => Draw(), null, s_delay, TimeSpan.FromMilliseconds(250));
    }

    /// <summary>Whether progress lines go to <paramref name="output"/>: only the real console, and only when it is not redirected.</summary>
    public static bool IsEnabledFor(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    public static Progress Start(string label, TextWriter output) => new(IsEnabledFor(output) ? output : null, label);

    private void Draw()
    {
        lock (_lock)
        {
            if (_done || _terminal is null) return;
            _terminal.Write(string.Create(CultureInfo.InvariantCulture, $"\r{_label}… {_clock.Elapsed.TotalSeconds:F1} s "));
            _terminal.Flush();
            _drawn = true;
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        lock (_lock)
        {
            _done = true;
            if (_drawn && _terminal is not null)
            {
                _terminal.Write("\r" + new string(' ', _label.Length + 16) + "\r");
                _terminal.Flush();
            }
        }
    }
}
