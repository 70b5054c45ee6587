using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Observability;

/// <summary>Notifications from real agents (docs/monitoring.md) to a webhook receiver in the test process, which checks
/// every signature, to an SMTP server in the test process (STARTTLS and a log-on), and to a program.</summary>
public sealed class NotifyAgentTests
{
    private const string Secret = "a-shared-secret";

    private static string ExecScript(string dir, string output)
    {
        var script = Path.Combine(dir, "notify.sh");
        File.WriteAllText(script, $"#!/bin/sh\n{{ echo \"$UNDERSTUDY_NOTIFY_KIND $UNDERSTUDY_EVENT_CODE $UNDERSTUDY_JOB\"; cat; echo; }} >> {output}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    [Fact]
    public async Task PendingFailover_IsNotifiedAtOnce_RepeatedUntilAnswered_ThenTheCompletedFailover()
    {
        await using var hook = new WebhookReceiver(Secret);
        await using var pair = new AgentPair();
        await using var smtp = new SmtpSink(pair.Dir.Sub("smtp.pem"), login: ("agent", "mail-password"));
        var execOut = pair.Dir.Sub("exec-out.txt");
        Directory.CreateDirectory(pair.Target.DataDir);
        File.WriteAllText(Path.Combine(pair.Target.DataDir, "notify.yaml"), $"""
            destinations:
              - name: hook
                webhook: {"{"} url: "{hook.Url}", secret: {Secret} {"}"}
                backoff: 100ms
              - name: program
                exec: {"{"} run: {ExecScript(pair.Dir.Path, execOut)} {"}"}
            {MailDestination("mail", smtp, pair.Dir)}
            rules:
              - code: [FailoverPending, FailoverCompleted]
                to: [hook, program, mail]
            pending_repeat: 1s
            """);
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        // Status, not an event: a first probe that answers records none (MonitorAddressUp is an address answering again).
        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["addresses"]?[0]?["state"]?.GetValue<string>() == "up",
            TimeSpan.FromSeconds(30), "the target to monitor the source");
        await pair.Target.ApproveFailoverAsync("job1");

        pair.Source.Kill();
        await Wait.UntilAsync(() => hook.Of("event", "FailoverPending").Any(), TimeSpan.FromSeconds(60), "the pending fail-over's notification");
        var first = hook.Of("event", "FailoverPending").First();
        Assert.Equal("job1", first["event"]!["job"]!.GetValue<string>());
        Assert.Equal(612, first["event"]!["code"]!.GetValue<int>());
        Assert.Equal("tgt", first["agent"]!["name"]!.GetValue<string>());
        // Repeated while nobody answers.
        await Wait.UntilAsync(() => hook.Of("reminder", "FailoverPending").Count() >= 2, TimeSpan.FromSeconds(30), "reminders of the pending fail-over");
        Assert.Contains("still waits for an operator", hook.Of("reminder", "FailoverPending").First()["event"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        await Wait.UntilAsync(() => hook.Of("event", "FailoverCompleted").Any(), TimeSpan.FromSeconds(30), "the completed fail-over's notification");
        int reminders = hook.Of("reminder", "FailoverPending").Count();
        // Answered: no more reminders. Three repeat periods pass with at most the one that may have been on its way.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        await Wait.UntilAsync(() => DateTime.UtcNow > until, TimeSpan.FromSeconds(10), "three repeat periods");
        Assert.InRange(hook.Of("reminder", "FailoverPending").Count(), reminders, reminders + 1);

        Assert.Empty(hook.Refused);
        // The program got the same messages, the JSON on its standard input.
        await Wait.UntilAsync(() => File.Exists(execOut) && File.ReadAllText(execOut).Contains("event 614 job1", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the program to be told of the completed fail-over");
        var lines = File.ReadAllLines(execOut);
        Assert.Contains("event 612 job1", lines);
        Assert.Contains("reminder 612 job1", lines);
        Assert.Contains(lines, l => l.StartsWith('{') && JsonNode.Parse(l)!["event"]!["codeName"]!.GetValue<string>() == "FailoverCompleted");

        // And the mail server got them by e-mail, under TLS and after the log-on, to both recipients.
        await Wait.UntilAsync(() => smtp.Of("event", "FailoverCompleted").Any(), TimeSpan.FromSeconds(30), "the completed fail-over's e-mail");
        Assert.NotEmpty(smtp.Of("event", "FailoverPending"));
        Assert.NotEmpty(smtp.Of("reminder", "FailoverPending"));
        Assert.All(smtp.Received, r => Assert.Equal((true, "agent", "understudy@example.org"), (r.Tls, r.User, r.From)));
        Assert.All(smtp.Received, r => Assert.Equal(["ops@example.org", "oncall@example.org"], r.To));
        var pendingMail = smtp.Received.First(r => (r.Message.Subject ?? "").Contains("FailoverPending", StringComparison.Ordinal)).Message;
        Assert.StartsWith("[understudy tgt] error FailoverPending job1: ", pendingMail.Subject, StringComparison.Ordinal);
        Assert.Contains("understudy failover job1", pendingMail.TextBody, StringComparison.Ordinal);
        Assert.Empty(smtp.Refusals);

        // Deliveries are events themselves.
        var events = await pair.Target.EventsAsync("job1");
        Assert.Contains(events, e => e.Code() == EventCode.NotifyDelivered && e.Data()!["destination"]!.GetValue<string>() == "hook"
            && e.Data()!["eventCode"]!.GetValue<int>() == 612);
        Assert.Contains(events, e => e.Code() == EventCode.NotifyDelivered && e.Data()!["destination"]!.GetValue<string>() == "program");
        Assert.Contains(events, e => e.Code() == EventCode.NotifyDelivered && e.Data()!["destination"]!.GetValue<string>() == "mail"
            && e.Data()!["eventCode"]!.GetValue<int>() == 614);
    }

    /// <summary>A notify-file destination for <paramref name="smtp"/>: STARTTLS as asked (required by default), the
    /// sink's certificate trusted, the sink's user with <paramref name="password"/> from a file (null: no log-on).</summary>
    internal static string MailDestination(string name, SmtpSink smtp, TempDir dir, string extra = "", string starttls = "required",
        string? password = "mail-password")
    {
        var login = "";
        if (password is not null)
        {
            var passwordFile = dir.Sub($"{name}-password");
            File.WriteAllText(passwordFile, password + "\n");
            login = $"\n      user: agent\n      password_file: {passwordFile}";
        }
        return $"""
              - name: {name}
                email:
                  host: 127.0.0.1
                  port: {smtp.Port}
                  from: understudy@example.org
                  to: [ops@example.org, oncall@example.org]
                  starttls: {starttls}
                  trust_file: {smtp.CertificateFile}{login}
                backoff: 100ms{extra}
            """;
    }
}
