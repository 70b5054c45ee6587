using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Understudy.Core.Api;

namespace Understudy.Core.Protocol.Control;

/// <summary>
/// The control words' JSON, generated at build time. The options are those the words were always written with
/// (<see cref="JsonSerializerOptions.Web"/>: camelCase, names read in any case, numbers read from strings too, nulls
/// written), so the text on the wire is what an older peer writes and expects.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SourceStatusReport))]
[JsonSerializable(typeof(PassivePollRequest))]
[JsonSerializable(typeof(PassivePollReply))]
[JsonSerializable(typeof(ConflictReport))]
[JsonSerializable(typeof(IdentityStatusRequest))]
[JsonSerializable(typeof(IdentityStatusReply))]
[JsonSerializable(typeof(ReclaimRequest))]
[JsonSerializable(typeof(ReclaimReply))]
[JsonSerializable(typeof(ResumeRequest))]
[JsonSerializable(typeof(ResumeReply))]
[JsonSerializable(typeof(ControlError))]
internal sealed partial class ControlJson : JsonSerializerContext
{
    /// <exception cref="JsonException">Not a <typeparamref name="T"/>, or <c>null</c>.</exception>
    internal static T Read<T>(string json, JsonTypeInfo<T> info, string verb) where T : class =>
        JsonSerializer.Deserialize(json, info) ?? throw new JsonException($"{verb}: empty {typeof(T).Name}");
}
