using System.Text.Json;
using System.Text.Json.Serialization;

namespace Understudy.Core.Api;

/// <summary>
/// The management API's JSON, generated at build time for every request and reply type, so the agent writes and the CLI
/// reads one set of records with no reflection (and an AOT-compiled CLI can, issue 21). The options are the API's as they
/// always were: web defaults (camelCase), enums as their words (<see cref="JsonStringEnumMemberNameAttribute"/>), nulls
/// written, not left out, so a reader sees every field of a record.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(HealthReply))]
[JsonSerializable(typeof(AgentInfo))]
[JsonSerializable(typeof(StatusReply))]
[JsonSerializable(typeof(TrustReply))]
[JsonSerializable(typeof(TrustedPeer[]))]
[JsonSerializable(typeof(ApiEvent))]
[JsonSerializable(typeof(ApiEvent[]))]
[JsonSerializable(typeof(ApiProblemBody))]
[JsonSerializable(typeof(JobStatusView[]))]
[JsonSerializable(typeof(JobNameReply))]
[JsonSerializable(typeof(JobDetail))]
[JsonSerializable(typeof(MirrorStarted))]
[JsonSerializable(typeof(VerifyReport))]
[JsonSerializable(typeof(JobControlReply))]
[JsonSerializable(typeof(ReplicationSettingsReply))]
[JsonSerializable(typeof(ValidateResult))]
[JsonSerializable(typeof(FailoverView[]))]
[JsonSerializable(typeof(FailoverDetail))]
[JsonSerializable(typeof(FailoverPlanReply))]
[JsonSerializable(typeof(FailoverReply))]
[JsonSerializable(typeof(RestoreReply))]
[JsonSerializable(typeof(FailbackReply))]
[JsonSerializable(typeof(FailbackPlanReply))]
[JsonSerializable(typeof(TrustRequest))]
[JsonSerializable(typeof(ApplyRequest))]
[JsonSerializable(typeof(MirrorRequest))]
[JsonSerializable(typeof(VerifyRequest))]
[JsonSerializable(typeof(ReplicationSettingsRequest))]
[JsonSerializable(typeof(FailoverRequest))]
[JsonSerializable(typeof(FailoverPlanView))]
[JsonSerializable(typeof(ApproveRequest))]
[JsonSerializable(typeof(RestoreRequest))]
[JsonSerializable(typeof(FailbackRequest))]
[JsonSerializable(typeof(NotifyReply))]
[JsonSerializable(typeof(NotifyTestRequest))]
[JsonSerializable(typeof(NotifyTestReply))]
internal sealed partial class ApiJson : JsonSerializerContext;
