using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Understudy.Agent.Events;
using Understudy.Agent.State;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>Every event carries a stable code (docs/events.md): stored, listed, served and printed.</summary>
public sealed class EventCodeTests
{
    [Fact]
    public void EventLogOfAnOlderAgent_WithoutCodes_LoadsAsUnknown_AndTakesCodedEventsAfter()
    {
        using var dir = new TempDir();
        // The events table as agents before event codes created it.
        using (var db = new SqliteConnection($"Data Source={dir.Sub(StateStore.FileName)};Pooling=false"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, severity TEXT NOT NULL,
                    category TEXT NOT NULL, job TEXT, message TEXT NOT NULL, data TEXT);
                INSERT INTO events (time, severity, category, job, message, data) VALUES ('2026-01-01T00:00:00.0000000+00:00', 'info', 'job', 'web', 'job applied', NULL);
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = new StateStore(dir.Path);
        var log = new EventLog(store, NullLogger<EventLog>.Instance, TimeProvider.System);
        var old = Assert.Single(log.List("web", 0, 10));
        Assert.Equal((EventCode.Unknown, "job applied"), (old.Code, old.Message));

        log.Record(EventCode.MirrorCompleted, Severity.Info, "mirror", "web", "mirror complete: 1 files");
        var events = log.List("web", 0, 10);
        Assert.Equal([EventCode.MirrorCompleted, EventCode.Unknown], events.Select(e => e.Code));
        Assert.Equal("MirrorCompleted", events[0].CodeName);
    }

    [Fact]
    public void Codes_AreUnique()
    {
        var values = Enum.GetValues<EventCode>();
        Assert.Equal(values.Length, values.Select(v => (int)v).Distinct().Count());
    }

    [Fact]
    public async Task EventsCommand_ShowsTheCode_AsANumberWithItsName()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var started = Assert.Single(await pair.Source.EventsAsync(), e => e.Code() == EventCode.AgentStarted);
        Assert.Equal(100, started["code"]!.GetValue<int>());
        Assert.Equal("AgentStarted", started["codeName"]!.GetValue<string>());
        var text = (await pair.Source.CliAsync("events")).EnsureOk().Stdout;
        Assert.Contains(" agent    100 -", text, StringComparison.Ordinal);
    }
}
