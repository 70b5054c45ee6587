using System.Text.Json;

namespace Understudy.Core.Api;

/// <summary>POST /jobs (applied) and DELETE /jobs/{name} (removed): the job's name.</summary>
internal sealed record JobNameReply(string Name);

/// <summary>GET /jobs/{name}: its status, its file as stored, and the spec in the job file's own words (JobSpecJson).</summary>
internal sealed record JobDetail(JobStatusView Status, string Yaml, JsonElement Spec);

/// <summary>POST /jobs/{name}/mirror (202): the mode started and the job's change count, which `wait` long-polls past.</summary>
internal sealed record MirrorStarted(string Name, string Mode, long Changes);

/// <summary>POST /jobs/{name}/stop, start, pause and resume: the state the control left the job in.</summary>
internal sealed record JobControlReply(string Name, JobState State, string? Reason);

/// <summary>POST /jobs/{name}/replication: the settings now in force (bandwidth 0: unlimited).</summary>
internal sealed record ReplicationSettingsReply(string Name, long Bandwidth, string Compression);

/// <summary>One problem found in a job file, placed as JobFile.Parse places it; severity "error" or "warning".</summary>
internal sealed record JobFileError(string Severity, string Message, string? File, int Line, int Column, string Key);

/// <summary>The answer of POST /jobs/validate: never an error status for an invalid job, so a form can call it per keystroke.</summary>
internal sealed record ValidateResult(bool Valid, string? Name, IReadOnlyList<JobFileError> Errors, string? Canonical);
