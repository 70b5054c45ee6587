using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>`understudy job apply` of a broken file: exit 2, an error naming file, line and key, nothing applied.</summary>
public sealed class BrokenJobFileTests
{
    [Fact]
    public async Task JobApply_BrokenFile_Exit2NamingFileLineAndKey_AndChangesNothing()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "a");
        var good = pair.JobYaml();
        await pair.ApplyAsync(good);
        await pair.WaitMirroredAsync();
        var listBefore = await JobNamesAsync(pair.Source);
        var showBefore = (await pair.Source.CliAsync("job", "show", "job1")).EnsureOk().Stdout;
        var yamlBefore = showBefore[..showBefore.IndexOf("# state:", StringComparison.Ordinal)];

        // The job file's lines (see AgentPair.JobYaml): 1 name, 2 source, 3 paths, 4 target, 5 address,
        // 6 id, 7 path, 8 mirror, 9 mode, 10 orphans, 11 extra.
        var cases = new (string Name, string Yaml, int? Line, string? Key, string Reason)[]
        {
            ("unknown-key", pair.JobYaml(extra: "colour: blue"), 11, "colour", "unknown key"),
            ("bad-enum", pair.JobYaml(mode: "fastest"), 9, "mirror.mode", "expected one of full | different | checksum, got 'fastest'"),
            ("missing-key", string.Join('\n', good.Split('\n').Where(l => !l.TrimStart().StartsWith("id:", StringComparison.Ordinal))), null, "target.id", "required"),
            ("bad-yaml", pair.JobYaml(mode: "[full, different"), null, null, "invalid YAML"),
        };
        foreach (var c in cases)
        {
            Assert.Contains("name: job1", c.Yaml, StringComparison.Ordinal); // the same name as the applied job
            var file = pair.Dir.Sub($"{c.Name}.yaml");
            await File.WriteAllTextAsync(file, c.Yaml);
            var r = await pair.Source.CliAsync("job", "apply", file);
            Assert.True(r.ExitCode == 2, $"{c.Name}: exit {r.ExitCode}: {r.Stdout}{r.Stderr}");
            var err = r.Stderr;
            Assert.Contains(c.Reason, err, StringComparison.Ordinal);
            var line = c.Line is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : @"[1-9]\d*";
            Assert.Matches(new Regex($"{Regex.Escape(file)}:{line}:\\d+: "), err);
            if (c.Key is not null)
                Assert.Contains($"key '{c.Key}'", err, StringComparison.Ordinal);
            Assert.True(string.IsNullOrEmpty(r.Stdout), $"{c.Name}: nothing on stdout, got {r.Stdout}");
        }

        Assert.Equal(listBefore, await JobNamesAsync(pair.Source));
        var showAfter = (await pair.Source.CliAsync("job", "show", "job1")).EnsureOk().Stdout;
        Assert.StartsWith(yamlBefore, showAfter, StringComparison.Ordinal);
        Assert.Matches(@"# state: (in-sync|replicating)", showAfter); // mirrored and still protected

        // The API carries the applied spec in the job file's own words (JobSpecJson), not .NET's.
        var spec = (await GetJobAsync(pair.Source, "job1"))["spec"]!;
        Assert.Equal("job1", spec["name"]!.GetValue<string>());
        Assert.Equal("different", spec["mirror"]!["mode"]!.GetValue<string>());
        Assert.Equal("keep", spec["mirror"]!["orphans"]!.GetValue<string>());
        Assert.Equal("20ms", spec["replication"]!["coalesce"]!.GetValue<string>());
        Assert.Equal(pair.Target.PeerAddress, spec["target"]!["address"]!.GetValue<string>());
    }

    private static async Task<List<string>> JobNamesAsync(AgentProcess agent)
    {
        var r = (await agent.CliAsync("job", "list", "--json")).EnsureOk();
        return [.. JsonNode.Parse(r.Stdout)!.AsArray().Select(j => j!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal)];
    }

    private static async Task<JsonNode> GetJobAsync(AgentProcess agent, string name)
    {
        var token = (await File.ReadAllTextAsync(Path.Combine(agent.DataDir, "api-token"))).Trim();
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{agent.ApiPort}/api/v1/jobs/{name}"));
        return JsonNode.Parse(text)!;
    }
}
