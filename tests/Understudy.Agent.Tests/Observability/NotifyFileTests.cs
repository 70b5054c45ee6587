using Understudy.Agent.Events;
using Understudy.Agent.Metrics;
using Understudy.Agent.Notify;
using Understudy.Core.Api;
using Understudy.Core.Jobs;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Observability;

/// <summary>The notify file (docs/monitoring.md): its keys, its errors with line and key, what a rule matches.</summary>
public sealed class NotifyFileTests
{
    private static NotifyEvent Ev(EventCode code, string severity, string category, string? job) =>
        new(NotifyEvent.KindEvent, new ApiEvent(1, "2026-01-01T00:00:00Z", severity, category, job, "m", null, (int)code, code.ToString()));

    [Fact]
    public void Rules_MatchByCodeNameOrNumber_SeverityAndJobGlob_EachDestinationOnce()
    {
        var s = NotifyFile.Parse("""
            destinations:
              - name: ops
                webhook: { url: "https://hooks.example.org/u", secret: s3cret }
                retries: 2
                backoff: 100ms
              - name: page
                exec: { run: /usr/local/bin/page, args: [--urgent] }
            rules:
              - code: [FailoverPending, 614]
                job: ["web*"]
                to: [ops, page]
              - severity: [error]
                to: [ops]
            pending_repeat: 1m
            """, "notify.yaml");
        Assert.Equal(TimeSpan.FromMinutes(1), s.PendingRepeat);
        Assert.Equal(["ops", "page"], s.DestinationsFor(Ev(EventCode.FailoverPending, Severity.Error, "failover", "web1")).Select(d => d.Name));
        Assert.Equal(["ops", "page"], s.DestinationsFor(Ev(EventCode.FailoverCompleted, Severity.Info, "failover", "webshop")).Select(d => d.Name));
        Assert.Equal(["ops"], s.DestinationsFor(Ev(EventCode.FailoverPending, Severity.Error, "failover", "db")).Select(d => d.Name));
        Assert.Empty(s.DestinationsFor(Ev(EventCode.MirrorCompleted, Severity.Info, "mirror", "web1")));
        var ops = s.Destinations[0];
        Assert.Equal((2, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400)), (ops.Retries, ops.Backoff, ops.DelayBefore(3)));
        Assert.Equal(Destination.MaxBackoff, ops.DelayBefore(30));
    }

    [Fact]
    public void NoRules_ErrorsAndSecurityEvents_GoToEveryDestination()
    {
        var s = NotifyFile.Parse("destinations: [ { name: a, exec: { run: /bin/true } }, { name: b, exec: { run: /bin/true } } ]", "n.yaml");
        Assert.Equal(["a", "b"], s.DestinationsFor(Ev(EventCode.FailoverPending, Severity.Error, "failover", "j")).Select(d => d.Name));
        Assert.Equal(["a", "b"], s.DestinationsFor(Ev(EventCode.PeerUntrusted, Severity.Security, "peer", null)).Select(d => d.Name));
        Assert.Empty(s.DestinationsFor(Ev(EventCode.MonitorAddressMissing, Severity.Warning, "monitor", "j")));
    }

    [Theory]
    [InlineData("destinations: [ { name: a, webhok: { url: http://x } } ]", "destinations[0].webhok", "did you mean 'webhook'")]
    [InlineData("destinations: [ { name: a, webhook: { url: ftp://x } } ]", "destinations[0].webhook.url", "http:// or https://")]
    [InlineData("destinations: [ { name: a } ]", "destinations[0]", "exactly one of webhook, exec or email")]
    [InlineData("destinations: [ { name: a, email: { host: m, from: u@example.org, to: [o@example.org], password: x } } ]", "destinations[0].email.password",
        "read from a file only")]
    [InlineData("destinations: [ { name: a, email: { host: m, from: u@example.org, to: [o@example.org], user: u } } ]", "destinations[0].email",
        "user and password_file together")]
    [InlineData("destinations: [ { name: a, email: { host: m, from: u@example.org, to: [o@example.org], starttls: always } } ]",
        "destinations[0].email.starttls", "required, optional, none")]
    [InlineData("destinations: [ { name: a, email: { host: m, from: u@example.org, to: ['Ops <o@example.org>'] } } ]", "destinations[0].email.to[0]",
        "expected an e-mail address")]
    [InlineData("destinations: [ { name: a, email: { host: m, from: u@example.org, to: [] } } ]", "destinations[0].email.to", "required: the recipients")]
    [InlineData("destinations: [ { name: a, email: { host: m, from: u@example.org, to: [o@example.org], user: u, password_file: /nonexistent/pw } } ]",
        "destinations[0].email.password_file", "cannot read it")]
    [InlineData("destinations: [ { name: a, exec: { run: /bin/true } } ]\nrules: [ { code: [9999], to: [a] } ]", "rules[0].code[0]", "no event code")]
    [InlineData("destinations: [ { name: a, exec: { run: /bin/true } } ]\nrules: [ { to: [b] } ]", "rules[0].to[0]", "no destination named 'b'")]
    [InlineData("destinations: [ { name: a, exec: { run: /bin/true } } ]\nrules: [ { severity: [fatal], to: [a] } ]", "rules[0].severity[0]", "expected one of")]
    public void BadFile_SaysWhereAndWhy(string yaml, string key, string reason)
    {
        var e = Assert.Throws<JobFileException>(() => NotifyFile.Parse(yaml, "notify.yaml"));
        Assert.Equal(key, e.KeyPath);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("notify.yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Email_Defaults_StarttlsRequiredOnPort587_PasswordReadFromItsFile_NeverShown()
    {
        using var dir = new TempDir();
        var pw = dir.Sub("pw");
        File.WriteAllText(pw, "s3cret\n");
        var s = NotifyFile.Parse($"destinations: [ {{ name: m, email: {{ host: mail.example.org, from: u@example.org, to: [a@example.org, b@example.org], user: u, password_file: {pw} }} }} ]",
            "n.yaml");
        var d = s.Destinations.Single();
        Assert.Equal(("email", TimeSpan.FromSeconds(30)), (d.Kind, d.Timeout));
        Assert.Equal(new MailTarget("mail.example.org", 587, "u@example.org", d.Mail!.To, MailTls.Required, "u", "s3cret", null), d.Mail);
        Assert.Equal(["a@example.org", "b@example.org"], d.Mail.To);
        Assert.Equal("smtp://mail.example.org:587 (starttls required) to a@example.org, b@example.org", d.Describe);
        var plain = NotifyFile.Parse("destinations: [ { name: m, email: { host: relay, from: u@example.org, to: [a@example.org], starttls: none } } ]", "n.yaml");
        Assert.Equal((25, MailTls.None), (plain.Destinations[0].Mail!.Port, plain.Destinations[0].Mail!.Tls));
        // A password is never sent in the clear.
        var e = Assert.Throws<JobFileException>(() => NotifyFile.Parse(
            $"destinations: [ {{ name: m, email: {{ host: relay, from: u@example.org, to: [a@example.org], starttls: none, user: u, password_file: {pw} }} }} ]", "n.yaml"));
        Assert.Contains("not sent without TLS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PrometheusText_EscapesLabels_AndRefusesAFamilyTwice()
    {
        var m = new PrometheusText();
        m.Gauge("x_bytes", "help with \\ and\nnewline").Sample(1.5, ("job", "a\"b\\c\nd"));
        Assert.Equal("# HELP x_bytes help with \\\\ and\\nnewline\n# TYPE x_bytes gauge\nx_bytes{job=\"a\\\"b\\\\c\\nd\"} 1.5\n", m.ToString());
        Assert.Throws<InvalidOperationException>(() => m.Gauge("x_bytes", "again"));
    }
}
