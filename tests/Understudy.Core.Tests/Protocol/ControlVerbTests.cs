using System.Buffers;
using System.Text.Json;
using Understudy.Core.Api;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;
using Xunit;

namespace Understudy.Core.Tests.Protocol;

/// <summary>
/// The peer link's control words as typed records: each one's request and reply goes through the frame codec and back,
/// and its JSON is byte for byte what the agent wrote before the records (reflection over the same shapes with
/// <see cref="JsonSerializerOptions.Web"/>), which is also what docs/protocol.md shows: an older peer sees no change.
/// </summary>
public sealed class ControlVerbTests
{
    private static T Through<T>(T message) where T : Message
    {
        var w = new ArrayBufferWriter<byte>();
        message.Write(new WireWriter(w));
        return Assert.IsType<T>(MessageCodec.Decode(message.Type, w.WrittenSpan.ToArray()));
    }

    /// <summary>The text the agent wrote before ControlJson: the reflection serializer with the web defaults.</summary>
    private static string AsBefore(object body) => JsonSerializer.Serialize(body, body.GetType(), JsonSerializerOptions.Web);

    private static TRequest RequestRoundTrip<TRequest>(ControlVerb<TRequest> verb, TRequest body, string wire) where TRequest : class
    {
        var sent = Through(verb.Request(body));
        Assert.Equal(verb.Name, sent.Verb);
        Assert.Equal(wire, sent.Json);
        Assert.Equal(AsBefore(body), sent.Json);
        Assert.True(verb.Is(sent));
        return verb.Read(sent);
    }

    private static TReply ReplyRoundTrip<TRequest, TReply>(ControlVerb<TRequest, TReply> verb, TReply body, string wire, bool ok = true)
        where TRequest : class where TReply : class
    {
        var sent = Through(verb.Reply(body, ok));
        Assert.Equal(ok, sent.Ok);
        Assert.Equal(wire, sent.Json);
        Assert.Equal(AsBefore(body), sent.Json);
        return verb.ReadReply(sent);
    }

    [Fact]
    public void SourceStatus_OneWay_RoundTripsAsTheDocumentedJson()
    {
        var body = new SourceStatusReport(12, 3456, 1.5, RemirrorRequired: true);
        var back = RequestRoundTrip(ControlVerbs.SourceStatus, body, """{"ops":12,"bytes":3456,"oldestAgeSeconds":1.5,"remirrorRequired":true,"mirrorPending":false,"oldestPendingAt":null}""");
        Assert.Equal(body, back);
        Assert.Equal("source-status", ControlVerbs.SourceStatus.Name);
    }

    [Fact]
    public void PassivePoll_RequestAndEachReply_RoundTrip()
    {
        var poll = new PassivePollRequest("web", 1, "alpha");
        Assert.Equal(poll, RequestRoundTrip(ControlVerbs.PassivePoll, poll, """{"job":"web","root":1,"sourceName":"alpha"}"""));
        Assert.Equal("passive-poll", ControlVerbs.PassivePoll.Name);

        var wait = new PassivePollReply(PassivePollReply.Wait, "failed-over: no restore requested", Holds: true);
        Assert.Equal(wait, ReplyRoundTrip(ControlVerbs.PassivePoll, wait, """{"action":"wait","reason":"failed-over: no restore requested","conflicts":null,"holds":true}"""));
        var restore = new PassivePollReply(PassivePollReply.Restore, null, "keep-target");
        Assert.Equal(restore, ReplyRoundTrip(ControlVerbs.PassivePoll, restore, """{"action":"restore","reason":null,"conflicts":"keep-target","holds":null}"""));
        var resume = new PassivePollReply(PassivePollReply.Resume);
        Assert.Equal(resume, ReplyRoundTrip(ControlVerbs.PassivePoll, resume, """{"action":"resume","reason":null,"conflicts":null,"holds":null}"""));
        // An older target sends no "holds": its wait does not say the identity is held (the source does not stand down on it).
        var old = ControlVerbs.PassivePoll.ReadReply(new ControlReply(true, """{"action":"wait","reason":"failed-over: no restore requested","conflicts":null}"""));
        Assert.Null(old.Holds);
    }

    [Fact]
    public void RestoreConflict_OneWay_RoundTrips_ParkedAndDiscarded()
    {
        // The default encoder writes '+' as \u002B, then as now.
        var parked = new ConflictReport(0, "docs/a.txt", "docs/a.txt.understudy-conflict-1", "2025-01-02T03:04:05.0000000+00:00");
        Assert.Equal(parked, RequestRoundTrip(ControlVerbs.RestoreConflict, parked,
            """{"root":0,"path":"docs/a.txt","parkedAs":"docs/a.txt.understudy-conflict-1","at":"2025-01-02T03:04:05.0000000\u002B00:00"}"""));
        var discarded = parked with { ParkedAs = null };
        Assert.Equal(discarded, RequestRoundTrip(ControlVerbs.RestoreConflict, discarded,
            """{"root":0,"path":"docs/a.txt","parkedAs":null,"at":"2025-01-02T03:04:05.0000000\u002B00:00"}"""));
    }

    [Fact]
    public void FailbackWords_EmptyRequests_AreTheObjectTheyWere_AndRepliesRoundTrip()
    {
        // identity-status, reclaim and resume were sent as the literal "{}" (and resume answered "{}").
        RequestRoundTrip(ControlVerbs.IdentityStatus, new IdentityStatusRequest(), "{}");
        RequestRoundTrip(ControlVerbs.Reclaim, new ReclaimRequest(), "{}");
        RequestRoundTrip(ControlVerbs.Resume, new ResumeRequest(), "{}");
        ReplyRoundTrip(ControlVerbs.Resume, new ResumeReply(), "{}");

        var held = ReplyRoundTrip(ControlVerbs.IdentityStatus, new IdentityStatusReply(["10.0.0.5/24", "fd00::5/64"]), """{"held":["10.0.0.5/24","fd00::5/64"]}""");
        Assert.Equal(["10.0.0.5/24", "fd00::5/64"], held.Held);

        var added = ReplyRoundTrip(ControlVerbs.Reclaim, new ReclaimReply(true, null, ["10.0.0.5/24"]), """{"ok":true,"error":null,"added":["10.0.0.5/24"]}""");
        Assert.True(added.Ok);
        Assert.Null(added.Error);
        Assert.Equal(["10.0.0.5/24"], added.Added);
        // A failed reclaim is a reply with the frame's flag down and the reason in the body, which is still read.
        var failed = ReplyRoundTrip(ControlVerbs.Reclaim, new ReclaimReply(false, "10.0.0.5 is in use on the network", []),
            """{"ok":false,"error":"10.0.0.5 is in use on the network","added":[]}""", ok: false);
        Assert.Equal("10.0.0.5 is in use on the network", failed.Error);
    }

    [Fact]
    public void UnknownWord_IsAFailedReplyNamingIt()
    {
        var reply = Through(ControlVerbs.Unknown(new ControlRequest("later-word", "{}")));
        Assert.False(reply.Ok);
        Assert.Equal("""{"error":"unknown request \u0027later-word\u0027"}""", reply.Json);
        Assert.Equal(AsBefore(new { error = "unknown request 'later-word'" }), reply.Json);
    }

    [Fact]
    public void Read_RefusesAnotherWordsRequest_AndAnEmptyBody()
    {
        Assert.Throws<ProtocolException>(() => ControlVerbs.Reclaim.Read(new ControlRequest("resume", "{}")));
        Assert.Throws<JsonException>(() => ControlVerbs.SourceStatus.Read(new ControlRequest("source-status", "null")));
        Assert.Throws<JsonException>(() => ControlVerbs.PassivePoll.Read(new ControlRequest("passive-poll", "[1]")));
    }

    [Fact]
    public void Read_TakesWhatAnOlderPeerWrote_AnyCaseAndNumbersAsText_UnknownFieldsIgnored()
    {
        // The reader keeps the web defaults it always had: names in any case, numbers from strings, extra fields passed over.
        var r = ControlVerbs.SourceStatus.Read(new ControlRequest("source-status", """{"Ops":"7","bytes":8,"oldestAgeSeconds":0,"later":1}"""));
        Assert.Equal(new SourceStatusReport(7, 8, 0, false), r);
    }
}
