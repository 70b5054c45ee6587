using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Observability;

/// <summary>E-mail notifications from a real agent to <see cref="SmtpSink"/> (real SMTP over a socket, STARTTLS, AUTH),
/// and a dead loop told to both a webhook and a mailbox.</summary>
public sealed class NotifyMailTests
{
    [Fact]
    public async Task DeadLoop_IsNotifiedByWebhookAndEmail()
    {
        await using var hook = new WebhookReceiver("s");
        using var dir = new TempDir();
        await using var smtp = new SmtpSink(dir.Sub("smtp.pem"), login: ("agent", "mail-password"));
        await using var agent = new AgentProcess(dir.Sub("agent"), "solo");
        Directory.CreateDirectory(agent.DataDir);
        // No rules: errors (a loop that died is one) go to every destination.
        File.WriteAllText(Path.Combine(agent.DataDir, "notify.yaml"), $"""
            destinations:
              - name: hook
                webhook: {"{"} url: "{hook.Url}", secret: s {"}"}
                backoff: 100ms
            {NotifyAgentTests.MailDestination("mail", smtp, dir)}
            """);
        agent.Environment["UNDERSTUDY_FAULT_LOOPS"] = "passive-poller";
        await agent.StartAsync();

        await Wait.UntilAsync(() => hook.Of("event", "LoopFailed").Any() && smtp.Of("event", "LoopFailed").Any(), TimeSpan.FromSeconds(60),
            "the dead loop's webhook and e-mail");
        Assert.Equal("passive-poller", hook.Of("event", "LoopFailed").First()["event"]!.Data()!["loop"]!.GetValue<string>());
        var mail = smtp.Received.Single(r => (r.Message.Subject ?? "").Contains("LoopFailed", StringComparison.Ordinal));
        Assert.StartsWith("[understudy solo] error LoopFailed: ", mail.Message.Subject, StringComparison.Ordinal);
        Assert.Contains("passive-poller", mail.Message.TextBody, StringComparison.Ordinal);
        Assert.True(mail.Tls);
        Assert.Empty(hook.Refused);
        Assert.Empty(smtp.Refusals);
    }

    [Fact]
    public async Task Email_IsRetriedOnA4xx_RefusalsAreFinal_FailuresAreEvents_NotifyTestReportsEach()
    {
        using var dir = new TempDir();
        await using var smtp = new SmtpSink(dir.Sub("smtp.pem"), login: ("agent", "mail-password"), tempFailFirst: 2);
        await using var agent = new AgentProcess(dir.Sub("agent"), "solo");
        Directory.CreateDirectory(agent.DataDir);
        File.WriteAllText(Path.Combine(agent.DataDir, "notify.yaml"), $"""
            destinations:
            {NotifyAgentTests.MailDestination("mail", smtp, dir, "\n    retries: 3")}
            {NotifyAgentTests.MailDestination("plain", smtp, dir, "\n    retries: 3", starttls: "none", password: null)}
            {NotifyAgentTests.MailDestination("badpass", smtp, dir, "\n    retries: 3", password: "wrong")}
            rules:
              - code: [PeerTrusted]
                to: [mail, plain, badpass]
            """);
        await agent.StartAsync();

        // Two 451s to MAIL, then accepted: one delivery, three attempts.
        (await agent.CliAsync("trust", "add", new string('a', 64), "--name", "p")).EnsureOk();
        await Wait.UntilAsync(() => smtp.Of("event", "PeerTrusted").Any(), TimeSpan.FromSeconds(30), "the e-mail after two 451 replies");
        Assert.Equal(2, smtp.Refusals.Count(r => r.StartsWith("451", StringComparison.Ordinal)));
        Assert.Equal(3, smtp.Of("event", "PeerTrusted").Single()["attempt"]!.GetValue<int>());
        await Wait.UntilAsync(async () => (await agent.EventsAsync()).Any(e => e.Code() == EventCode.NotifyDelivered), TimeSpan.FromSeconds(30), "the delivery event");
        var delivered = (await agent.EventsAsync()).Single(e => e.Code() == EventCode.NotifyDelivered);
        Assert.Equal(("mail", "email", 3), (delivered.Data()!["destination"]!.GetValue<string>(), delivered.Data()!["kind"]!.GetValue<string>(),
            delivered.Data()!["attempts"]!.GetValue<int>()));

        // Plain text to a server that wants STARTTLS first is refused (530), a wrong password too (535): final answers,
        // each an 801 event after one attempt although retries: 3.
        await Wait.UntilAsync(async () => (await agent.EventsAsync()).Count(e => e.Code() == EventCode.NotifyFailed) == 2, TimeSpan.FromSeconds(30),
            "the two refusals");
        var failed = (await agent.EventsAsync()).Where(e => e.Code() == EventCode.NotifyFailed).ToList();
        Assert.Equal(new[] { "badpass", "plain" }, failed.Select(e => e.Data()!["destination"]!.GetValue<string>()).Order().ToArray());
        Assert.All(failed, e => Assert.Equal(1, e.Data()!["attempts"]!.GetValue<int>()));

        // notify test: each destination once, each answer printed.
        var test = await agent.CliAsync("notify", "test");
        Assert.Equal(1, test.ExitCode);
        var said = test.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(said.Any(l => l.StartsWith("mail: delivered (accepted by 127.0.0.1:", StringComparison.Ordinal) && l.Contains("over TLS", StringComparison.Ordinal)),
            test.Stdout);
        Assert.True(said.Any(l => l.StartsWith("plain: FAILED (", StringComparison.Ordinal) && l.Contains("Must issue a STARTTLS", StringComparison.Ordinal)), test.Stdout);
        Assert.True(said.Any(l => l.StartsWith("badpass: FAILED (", StringComparison.Ordinal) && l.Contains("refused the log-on of agent", StringComparison.Ordinal)),
            test.Stdout);
        Assert.Single(smtp.Of("test", "NotifyTest"));
        (await agent.CliAsync("notify", "test", "--destination", "mail")).EnsureOk();
        Assert.Equal(2, smtp.Of("test", "NotifyTest").Count());

        var show = (await agent.CliAsync("notify", "show")).EnsureOk().Stdout;
        Assert.Contains($"destination mail: email smtp://127.0.0.1:{smtp.Port} (starttls required) to ops@example.org, oncall@example.org, 3 retries",
            show, StringComparison.Ordinal);
        Assert.DoesNotContain("mail-password", show, StringComparison.Ordinal);
    }
}
