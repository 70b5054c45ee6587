using System.Diagnostics;
using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>
/// `understudy job new` as a person uses it: in a real terminal (a detached tmux session), answering each
/// prompt when it appears, with a wrong answer corrected on the way.
/// </summary>
public sealed class JobNewPromptTests
{
    [TmuxFact]
    public async Task JobNew_Interactive_AsksEachQuestion_RejectsBadAnswers_WritesTheJobFile()
    {
        using var dir = new TempDir();
        var file = dir.Sub("web.yaml");
        var id = new string('a', 64);
        await using var term = await Terminal.StartAsync($"dotnet {Quote(AgentProcess.CliDll)} job new -o {Quote(file)} --data-dir {Quote(dir.Path)}");

        await term.AnswerAsync("Job name:", "Web!");
        await term.WaitForAsync("lowercase letters");
        await term.AnswerAsync("Job name:", "web");
        await term.AnswerAsync("Source directory:", "/srv/www");
        await term.AnswerAsync("Source directory (empty to finish):", "");
        await term.AnswerAsync("Exclude pattern (empty to finish):", "*.tmp");
        await term.AnswerAsync("Exclude pattern (empty to finish):", "");
        await term.AnswerAsync("Target agent peer address", "backup1:7420");
        await term.AnswerAsync("Target agent ID", "not-an-id");
        await term.WaitForAsync("64 hex digits");
        await term.AnswerAsync("Target agent ID", id);
        await term.AnswerAsync("Target directory:", "/srv/replica");
        await term.SelectAsync("Mirror mode", "Down", "Enter"); // different → checksum
        await term.SelectAsync("Files only on the target", "Enter"); // keep
        await term.AnswerAsync("Set up fail-over", "y");
        await term.AnswerAsync("Source address to watch:", "192.0.2.10");
        await term.AnswerAsync("Source address to watch (empty to finish):", "");
        await term.SelectAsync("Fail-over trigger", "Enter"); // manual
        await term.SelectAsync("Identity mode", "Enter"); // add
        await term.WaitForAsync("wrote " + file);

        var yaml = await File.ReadAllTextAsync(file);
        Assert.Contains("name: web", yaml, StringComparison.Ordinal);
        Assert.Contains("/srv/www", yaml, StringComparison.Ordinal);
        Assert.Contains("*.tmp", yaml, StringComparison.Ordinal);
        Assert.Contains("address: backup1:7420", yaml, StringComparison.Ordinal);
        Assert.Contains("id: " + id, yaml, StringComparison.Ordinal);
        Assert.Contains("mode: checksum", yaml, StringComparison.Ordinal);
        Assert.Contains("192.0.2.10", yaml, StringComparison.Ordinal);
        Assert.Contains("trigger: manual", yaml, StringComparison.Ordinal);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A detached tmux session running one command; the screen is read with capture-pane.</summary>
    private sealed class Terminal : IAsyncDisposable
    {
        private readonly string _name = "ustd-" + Guid.NewGuid().ToString("N")[..8];
        private int _consumed; // screen text before this offset has been answered already
        private int _lastStart;

        public static async Task<Terminal> StartAsync(string command)
        {
            var t = new Terminal();
            // The trailing sleep keeps the last screen readable for a while after the command ends.
            await RunAsync("new-session", "-d", "-s", t._name, "-x", "160", "-y", "50", command + "; sleep 30");
            return t;
        }

        public async Task<string> ScreenAsync() => await RunAsync("capture-pane", "-p", "-S", "-200", "-t", _name);

        /// <summary>Waits until <paramref name="text"/> appears after what was already waited for.</summary>
        public async Task WaitForAsync(string text)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                var screen = await ScreenAsync();
                int at = _consumed <= screen.Length ? screen.IndexOf(text, _consumed, StringComparison.Ordinal) : -1;
                if (at >= 0)
                {
                    _lastStart = at;
                    _consumed = at + text.Length;
                    return;
                }
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"'{text}' did not appear; the terminal shows:\n{screen}");
                await Task.Delay(50);
            }
        }

        public async Task AnswerAsync(string prompt, string answer)
        {
            await WaitForAsync(prompt);
            if (answer.Length > 0)
                await RunAsync("send-keys", "-t", _name, "-l", answer);
            await SendKeysAsync("Enter");
        }

        /// <summary>Picks from a selection prompt; Spectre erases the list afterwards, so the next prompt is drawn where it was.</summary>
        public async Task SelectAsync(string title, params string[] keys)
        {
            await WaitForAsync(title);
            await SendKeysAsync(keys);
            _consumed = _lastStart;
        }

        public async Task SendKeysAsync(params string[] keys) => await RunAsync(["send-keys", "-t", _name, .. keys]);

        public async ValueTask DisposeAsync()
        {
            try
            {
                await RunAsync("kill-session", "-t", _name);
            }
            catch (InvalidOperationException)
            {
            }
        }

        private static async Task<string> RunAsync(params string[] args)
        {
            var psi = new ProcessStartInfo("tmux") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args)
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {await e}");
            return await o;
        }
    }
}

/// <summary>Skips, with the reason, where tmux is not installed (.ci/run installs it).</summary>
public sealed class TmuxFactAttribute : FactAttribute
{
    public TmuxFactAttribute()
    {
        if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "tmux"))))
            Skip = "needs tmux (Debian package tmux) to drive the interactive prompts in a terminal";
    }
}
