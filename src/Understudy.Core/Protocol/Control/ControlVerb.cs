using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Understudy.Core.Protocol.Control;

/// <summary>
/// One word of the peer link's control channel, typed: its body travels as <c>ControlRequest(Name, JSON)</c> written and
/// read by <see cref="ControlJson"/> (docs/protocol.md). The frame stays a verb and a JSON text, so a peer of any version
/// reads what this one writes, and a word it does not know is refused by name rather than misread. A one-way word
/// (this class) is answered by nothing; <see cref="ControlVerb{TRequest, TReply}"/> is answered by one ControlReply.
/// </summary>
internal class ControlVerb<TRequest>(string name, JsonTypeInfo<TRequest> request)
    where TRequest : class
{
    public string Name { get; } = name;

    public bool Is(ControlRequest r) => r.Verb == Name;

    public ControlRequest Request(TRequest body) => new(Name, JsonSerializer.Serialize(body, request));

    /// <exception cref="ProtocolException">The request is another verb's.</exception>
    /// <exception cref="JsonException">The body is not this verb's JSON (or is <c>null</c>).</exception>
    public TRequest Read(ControlRequest r)
    {
        if (!Is(r))
            ProtocolException.Throw($"expected control request '{Name}', got '{r.Verb}'");
        return ControlJson.Read(r.Json, request, Name);
    }

    public override string ToString() => Name;
}

/// <summary>A control word answered by one <c>ControlReply</c> whose JSON is a <typeparamref name="TReply"/>.</summary>
internal sealed class ControlVerb<TRequest, TReply>(string name, JsonTypeInfo<TRequest> request, JsonTypeInfo<TReply> reply)
    : ControlVerb<TRequest>(name, request)
    where TRequest : class
    where TReply : class
{
    /// <summary><paramref name="ok"/> is the frame's flag: false when the request failed (the body still says how).</summary>
    public ControlReply Reply(TReply body, bool ok = true) => new(ok, JsonSerializer.Serialize(body, reply));

    /// <summary>The body as the peer wrote it, whatever the frame's ok flag (a failed reclaim says why in its body).</summary>
    /// <exception cref="JsonException">The body is not this verb's reply (or is <c>null</c>).</exception>
    public TReply ReadReply(ControlReply r) => ControlJson.Read(r.Json, reply, Name);
}
