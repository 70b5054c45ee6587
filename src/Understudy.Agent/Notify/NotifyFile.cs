using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using Understudy.Agent.Events;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Notify;

/// <summary>
/// Reads the notify file (docs/monitoring.md has its keys). Errors are <see cref="JobFileException"/>s, as for job files:
/// <c>FILE:LINE:COL: key 'a.b': what was expected</c>, unknown keys with a "did you mean".
/// </summary>
internal static partial class NotifyFile
{
    public const string DefaultName = "notify.yaml";

    private static readonly string[] SeverityWords = [Severity.Info, Severity.Warning, Severity.Error, Severity.Security];

    public static NotifySettings Load(string path) => Parse(File.ReadAllText(path), path);

    public static NotifySettings Parse(string yaml, string fileName)
    {
        var y = new YamlReader(fileName);
        YamlNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            throw new JobFileException(e.Message, "", fileName, (int)e.Start.Line, (int)e.Start.Column);
        }
        var map = y.Mapping(root, "", "destinations: [...]");
        if (map is null)
            return NotifySettings.None;
        var keys = y.Keys(map, "", "destinations", "rules", "pending_repeat");
        var destinations = new List<Destination>();
        var items = y.Sequence(keys.GetValueOrDefault("destinations"), "destinations", "[ { name: ops, webhook: { url: https://… } } ]");
        for (int i = 0; i < items.Count; i++)
        {
            var d = ParseDestination(y, items[i], $"destinations[{i}]");
            if (destinations.Any(x => x.Name == d.Name))
                throw y.Error(items[i], $"destinations[{i}].name", $"duplicate destination name '{d.Name}'");
            destinations.Add(d);
        }
        var rules = new List<NotifyRule>();
        if (keys.TryGetValue("rules", out var rulesNode) && !YamlReader.IsNull(rulesNode))
        {
            var ruleItems = y.Sequence(rulesNode, "rules", "[ { severity: [error], to: [ops] } ]");
            for (int i = 0; i < ruleItems.Count; i++)
                rules.Add(ParseRule(y, ruleItems[i], $"rules[{i}]", destinations));
        }
        else if (destinations.Count > 0)
        {
            // No rules: what an operator must act on (errors, which include a pending fail-over, and security events) to every destination.
            rules.Add(new NotifyRule([Severity.Error, Severity.Security], [], [], [], [.. destinations.Select(d => d.Name)]));
        }
        var repeat = y.Duration(keys.GetValueOrDefault("pending_repeat"), "pending_repeat") ?? NotifySettings.DefaultPendingRepeat;
        if (repeat < TimeSpan.FromSeconds(1))
            throw y.Error(keys["pending_repeat"], "pending_repeat", "must be at least 1s");
        return new NotifySettings(destinations, rules, repeat);
    }

    private static Destination ParseDestination(YamlReader y, YamlNode node, string path)
    {
        var map = y.Mapping(node, path, "{ name: ops, webhook: { url: https://… } }") ?? throw y.Error(node, path, "expected a destination");
        var keys = y.Keys(map, path, "name", "webhook", "exec", "email", "timeout", "retries", "backoff");
        var name = y.RequiredString(keys, map, path, "name", "a name the rules use in 'to'");
        WebhookTarget? webhook = null;
        ExecTarget? exec = null;
        if (y.Mapping(keys.GetValueOrDefault("webhook"), path + ".webhook", "{ url: https://…, secret_file: /etc/understudy/hook-secret }") is { } wm)
        {
            var wp = path + ".webhook";
            var wk = y.Keys(wm, wp, "url", "secret", "secret_file");
            var urlText = y.RequiredString(wk, wm, wp, "url", "the URL to POST to");
            if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                throw y.Error(wk["url"], wp + ".url", $"expected an http:// or https:// URL, got '{urlText}'");
            var secret = y.String(wk.GetValueOrDefault("secret"), wp + ".secret");
            var secretFile = y.AbsolutePath(wk.GetValueOrDefault("secret_file"), wp + ".secret_file");
            if (secret is not null && secretFile is not null)
                throw y.Error(wm, wp, "give secret or secret_file, not both");
            byte[]? key = secret is not null ? System.Text.Encoding.UTF8.GetBytes(secret) : null;
            if (secretFile is not null)
            {
                try
                {
                    key = System.Text.Encoding.UTF8.GetBytes(File.ReadAllText(secretFile).Trim());
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw y.Error(wk["secret_file"], wp + ".secret_file", $"cannot read it: {e.Message}");
                }
            }
            if (key is { Length: 0 })
                throw y.Error(wm, wp, "the secret is empty");
            webhook = new WebhookTarget(url, key);
        }
        if (y.Mapping(keys.GetValueOrDefault("exec"), path + ".exec", "{ run: /usr/local/bin/page, args: [--urgent] }") is { } em)
        {
            var ep = path + ".exec";
            var ek = y.Keys(em, ep, "run", "args");
            var run = y.AbsolutePath(ek.GetValueOrDefault("run"), ep + ".run") ?? throw y.Error(em, ep + ".run", "required: the program's absolute path");
            var args = y.Sequence(ek.GetValueOrDefault("args"), ep + ".args", "[--urgent]").Select((a, i) => y.String(a, $"{ep}.args[{i}]") ?? "").ToList();
            exec = new ExecTarget(run, args);
        }
        var mail = ParseMail(y, keys.GetValueOrDefault("email"), path + ".email");
        if ((webhook is null ? 0 : 1) + (exec is null ? 0 : 1) + (mail is null ? 0 : 1) != 1)
            throw y.Error(map, path, "a destination has exactly one of webhook, exec or email");
        var timeout = y.Duration(keys.GetValueOrDefault("timeout"), path + ".timeout") ?? TimeSpan.FromSeconds(webhook is not null ? 10 : 30);
        var retries = y.Int(keys.GetValueOrDefault("retries"), path + ".retries") ?? 5;
        if (retries is < 0 or > 20)
            throw y.Error(keys["retries"], path + ".retries", "expected 0 to 20");
        var backoff = y.Duration(keys.GetValueOrDefault("backoff"), path + ".backoff") ?? TimeSpan.FromSeconds(2);
        if (timeout <= TimeSpan.Zero || backoff <= TimeSpan.Zero)
            throw y.Error(map, path, "timeout and backoff must be more than 0");
        return new Destination(name, webhook, exec, timeout, retries, backoff, mail);
    }

    private static NotifyRule ParseRule(YamlReader y, YamlNode node, string path, List<Destination> destinations)
    {
        var map = y.Mapping(node, path, "{ severity: [error], to: [ops] }") ?? throw y.Error(node, path, "expected a rule");
        var keys = y.Keys(map, path, "severity", "category", "code", "job", "to");
        List<string> Words(string key) =>
            [.. y.Sequence(keys.GetValueOrDefault(key), $"{path}.{key}", "[a, b]").Select((n, i) => y.String(n, $"{path}.{key}[{i}]") ?? "")];
        var severities = Words("severity");
        foreach (var (s, i) in severities.Select((s, i) => (s, i)))
        {
            if (!SeverityWords.Contains(s))
                throw y.Error(map, $"{path}.severity[{i}]", $"expected one of {string.Join(", ", SeverityWords)}, got '{s}'");
        }
        var codes = new List<int>();
        var codeNodes = y.Sequence(keys.GetValueOrDefault("code"), path + ".code", "[612, FailoverCompleted]");
        for (int i = 0; i < codeNodes.Count; i++)
        {
            var text = y.String(codeNodes[i], $"{path}.code[{i}]") ?? "";
            // A number or the code's name (docs/events.md), so a rule reads as the event log does.
            if (int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var n) && Enum.IsDefined((EventCode)n))
                codes.Add(n);
            else if (Enum.TryParse<EventCode>(text, ignoreCase: false, out var c) && !int.TryParse(text, out _))
                codes.Add((int)c);
            else
                throw y.Error(codeNodes[i], $"{path}.code[{i}]", $"'{text}' is no event code (docs/events.md lists them)");
        }
        var to = Words("to");
        if (to.Count == 0)
            throw y.Error(map, path + ".to", "required: the destinations' names, like [ops]");
        foreach (var (t, i) in to.Select((t, i) => (t, i)))
        {
            if (!destinations.Any(d => d.Name == t))
                throw y.Error(map, $"{path}.to[{i}]", $"no destination named '{t}' (destinations: {string.Join(", ", destinations.Select(d => d.Name))})");
        }
        return new NotifyRule(severities, Words("category"), codes, Words("job"), to);
    }
}
