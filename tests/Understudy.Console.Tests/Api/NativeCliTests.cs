using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Understudy.Console.Tests.Support;
using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>
/// The native CLI client (src/Understudy.Cli.Native, published with Native AOT) answers as the managed program does:
/// the same help, the same output and JSON against a real agent, the same errors and exit codes; and the verbs it
/// hands to the managed program (`id`, `job check`) reach it through the installed layout (OUT/understudy beside
/// OUT/bin/understudy). Needs the published client (.ci/run publishes it; docs/cli.md); skipped without it, except in CI.
/// </summary>
public sealed class NativeCliTests : IDisposable
{
    private readonly TempDir _layout = new();

    /// <summary>The installed layout, made of the test's own managed program and the published native client.</summary>
    private readonly string _native;

    public NativeCliTests()
    {
        var bin = Directory.CreateDirectory(Path.Combine(_layout.Path, "bin")).FullName;
        _native = Path.Combine(bin, "understudy");
        if (File.Exists(NativeCliFactAttribute.Published))
            File.Copy(NativeCliFactAttribute.Published, _native);
        File.CreateSymbolicLink(Path.Combine(_layout.Path, "understudy"), Path.Combine(AppContext.BaseDirectory, "understudy"));
    }

    public void Dispose() => _layout.Dispose();

    [NativeCliFact]
    public async Task Help_OfEveryVerb_IsTheManagedPrograms()
    {
        using var dir = new TempDir();
        var root = await BothAsync(dir.Path, "--help");
        var verbs = new Queue<string>(Verbs(root.Stdout));
        Assert.Contains("status", verbs);
        var seen = new List<string>();
        // Every verb, and every verb of a group (`job`, `trust`, `notify`, any added later): one help text is the list of
        // options, so a verb's option that one client lacks fails here.
        while (verbs.TryDequeue(out var verb))
        {
            seen.Add(verb);
            var help = (await BothAsync(dir.Path, [.. verb.Split(' '), "--help"])).Stdout;
            if (help.Contains("Commands:", StringComparison.Ordinal))
                foreach (var sub in Verbs(help))
                    verbs.Enqueue($"{verb} {sub}");
        }
        Assert.Contains("job list", seen);
        Assert.Contains("--peer-heartbeat", (await BothAsync(dir.Path, "agent", "--help")).Stdout, StringComparison.Ordinal);
        await BothAsync(dir.Path, "--version");
    }

    [NativeCliFact]
    public void Published_IsAPositionIndependentExecutable()
    {
        // ELF e_type (offset 16, little-endian): 3 = ET_DYN, a PIE whose image the kernel places at a random address;
        // 2 = ET_EXEC, a fixed address. The client is run as root: docs/architecture.md, "The native client is a position-independent executable".
        var head = new byte[18];
        using (var f = File.OpenRead(NativeCliFactAttribute.Published))
            f.ReadExactly(head);
        Assert.Equal([0x7f, (byte)'E', (byte)'L', (byte)'F'], head[..4]);
        Assert.True(BitConverter.ToUInt16(head, 16) == 3, $"{NativeCliFactAttribute.Published}: ELF type {BitConverter.ToUInt16(head, 16)}, not ET_DYN (3): not a PIE");
    }

    [NativeCliFact]
    public async Task ReadsAndErrors_AgainstARealAgent_AreTheManagedPrograms()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "120")).EnsureOk();
        var s = pair.Source.DataDir;

        // Two fields move between two calls, so they are compared by shape only: the link's byte counter (heartbeats),
        // and "idle", a moment's view (an idle job's capture can be busy for an instant: one run in a fresh clone
        // saw true, then false, with nothing else different).
        var json = await BothAsync(s, Moving, "status", "--json");
        Assert.Equal("job1", JsonNode.Parse(json.Stdout)!["jobs"]![0]!["name"]!.GetValue<string>());
        await BothAsync(s, "status");
        await BothAsync(s, Moving, "status", "job1", "--json");
        await BothAsync(s, Moving, "job", "list", "--json");
        await BothAsync(s, "trust", "list");
        await BothAsync(pair.Target.DataDir, "status");
        Assert.Equal(0, (await BothAsync(s, "wait", "job1")).ExitCode);
        // Errors: the agent's (no such job), the client's (no agent, parse errors), with their exit codes.
        Assert.Equal(2, (await BothAsync(s, "wait", "nosuch")).ExitCode);
        Assert.Equal(2, (await BothAsync(s, "status", "nosuch")).ExitCode);
        Assert.Equal(2, (await BothAsync(pair.Dir.Sub("none"), "status")).ExitCode);
        Assert.Equal(2, (await BothAsync(s, "status", "--bogus")).ExitCode);
        Assert.Equal(2, (await BothAsync(s, "mirror")).ExitCode);
        Assert.Equal(2, (await BothAsync(s, "--api", "http://example.invalid:7421", "--token", "t", "status")).ExitCode);
    }

    [NativeCliFact]
    public async Task VerbsOfTheManagedProgram_RunItThroughTheInstalledLayout()
    {
        using var dir = new TempDir();
        var id = await BothAsync(dir.Path, "id");
        Assert.Equal(2, id.ExitCode);
        var bad = Path.Combine(dir.Path, "bad.yaml");
        await File.WriteAllTextAsync(bad, "name: Bad Name\n");
        Assert.Equal(2, (await BothAsync(dir.Path, "job", "check", bad)).ExitCode);
        // The daemon's own options pass through the exec: the managed program checks them (and says the same).
        var beat = await BothAsync(dir.Path, "agent", "--peer-heartbeat", "1ms");
        Assert.Equal(2, beat.ExitCode);
        Assert.Contains("--peer-heartbeat '1ms'", beat.Stderr, StringComparison.Ordinal);

        // Without the managed program beside it, the client says where it looked instead.
        File.Delete(Path.Combine(_layout.Path, "understudy"));
        var alone = await Understudy.Testing.Cli.RunProgramAsync(_native, ["id"], dir.Path);
        Assert.Equal(2, alone.ExitCode);
        Assert.Contains("runs in the managed program", alone.Stderr, StringComparison.Ordinal);
    }

    private static string Moving(string json) =>
        Regex.Replace(Regex.Replace(json, "(\"replication\":\\{.*?\"bytesSent\":)\\d+", "$1N"), "(\"idle\":)(true|false)", "$1B");

    /// <summary>Runs the managed program and the native client with the same arguments; both must print and exit the same.</summary>
    private Task<CliResult> BothAsync(string dataDir, params string[] args) => BothAsync(dataDir, s => s, args);

    /// <summary>The same, with the stdout of each compared after <paramref name="stable"/> (for counters that move between two calls).</summary>
    private async Task<CliResult> BothAsync(string dataDir, Func<string, string> stable, params string[] args)
    {
        var managed = await Understudy.Testing.Cli.RunAsync(dataDir, args);
        var native = await Understudy.Testing.Cli.RunProgramAsync(_native, args, dataDir);
        var what = string.Join(' ', args);
        Assert.True(stable(managed.Stdout) == stable(native.Stdout), $"`{what}` stdout differs:\nmanaged:\n{managed.Stdout}\nnative:\n{native.Stdout}");
        Assert.True(managed.Stderr == native.Stderr, $"`{what}` stderr differs:\nmanaged:\n{managed.Stderr}\nnative:\n{native.Stderr}");
        Assert.True(managed.ExitCode == native.ExitCode, $"`{what}` exit code: managed {managed.ExitCode}, native {native.ExitCode}");
        return managed;
    }

    /// <summary>The verbs listed under "Commands:" in a help text.</summary>
    private static IEnumerable<string> Verbs(string help) =>
        Regex.Matches(help[help.IndexOf("Commands:", StringComparison.Ordinal)..], "^  ([a-z-]+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value);
}

/// <summary>A test of the published native client: <c>UNDERSTUDY_NATIVE_CLI</c>, or artifacts/native/understudy as .ci/run
/// publishes it. Skipped, saying how to publish it, when there is none — but never in CI (CI set), where it must be.</summary>
public sealed class NativeCliFactAttribute : FactAttribute
{
    public static string Published =>
        Environment.GetEnvironmentVariable("UNDERSTUDY_NATIVE_CLI") is { Length: > 0 } p ? p : Path.Combine(BrowserSession.RepoRoot, "artifacts", "native", "understudy");

    public NativeCliFactAttribute()
    {
        if (!File.Exists(Published) && Environment.GetEnvironmentVariable("CI") is null or "")
            Skip = $"no native client at {Published}: publish it with 'dotnet publish src/Understudy.Cli.Native -c Release -o artifacts/native' (needs clang)";
    }
}
