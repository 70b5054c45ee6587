using System.Net;

namespace Understudy.Testing.Lab;

/// <summary>The outcome of one smbclient transfer: content on success, smbclient's words otherwise.</summary>
public sealed record SmbRead(bool Ok, byte[] Content, string Error)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Content);
}

/// <summary>
/// smbclient run inside a lab host (guest, SMB2+). Nothing can mount CIFS here, so a client
/// "reads through the share" by one smbclient `get` per read: each is a fresh connection, which
/// is what a client reconnecting after a fail-over does.
/// </summary>
public static class SmbClient
{
    public static string Unc(IPAddress address, string share) => $"//{address}/{share}";

    public static async Task<byte[]> ReadFileAsync(LabHost from, string unc, string path, CancellationToken ct = default)
    {
        var r = await TryReadFileAsync(from, unc, path, TimeSpan.FromSeconds(20), ct);
        return r.Ok ? r.Content : throw new LabException($"smbclient in {from}: cannot read {unc}/{path}: {r.Error}");
    }

    /// <summary>
    /// One read that reports failure instead of throwing, for polling while an address moves.
    /// <paramref name="timeout"/> bounds the whole attempt (smbclient's own connect timeout is long).
    /// </summary>
    public static async Task<SmbRead> TryReadFileAsync(LabHost from, string unc, string path, TimeSpan timeout, CancellationToken ct = default)
    {
        var local = from.Sub($"smbget-{Guid.NewGuid():N}");
        try
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
            var r = await from.Lab.ExecAsync(from, ["smbclient", unc, "-N", "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-c", $"get \"{SmbPath(path)}\" \"{local}\""], timeout, ct);
            if (r.ExitCode != 0 || !File.Exists(local))
                return new SmbRead(false, [], $"exit {r.ExitCode}: {r.Stderr.Trim()} {r.Stdout.Trim()}");
            return new SmbRead(true, await File.ReadAllBytesAsync(local, ct), "");
        }
        finally
        {
            File.Delete(local);
        }
    }

    /// <summary>
    /// Reads again and again (each attempt bounded by <paramref name="attemptTimeout"/>) until one
    /// succeeds and <paramref name="accept"/> likes it; throws with the last error at the deadline.
    /// For "time from the cut to the first good read".
    /// </summary>
    public static async Task<(SmbRead Read, int Attempts)> PollReadAsync(LabHost from, string unc, string path, TimeSpan deadline,
        Func<SmbRead, bool>? accept = null, TimeSpan? attemptTimeout = null, CancellationToken ct = default)
    {
        var until = DateTime.UtcNow + deadline;
        var attempts = 0;
        while (true)
        {
            attempts++;
            var r = await TryReadFileAsync(from, unc, path, attemptTimeout ?? TimeSpan.FromSeconds(2), ct);
            if (r.Ok && (accept is null || accept(r)))
                return (r, attempts);
            if (DateTime.UtcNow > until)
                throw new LabException($"no good read of {unc}/{path} from {from} within {deadline.TotalSeconds}s ({attempts} attempts); last: {(r.Ok ? "read \"" + r.Text + "\"" : r.Error)}");
            await Task.Delay(20, ct); // pacing between attempts, not a wait for a condition
        }
    }

    public static async Task WriteFileAsync(LabHost from, string unc, string path, byte[] content, CancellationToken ct = default)
    {
        var r = await TryWriteFileAsync(from, unc, path, content, ct);
        if (!r.Ok)
            throw new LabException($"smbclient in {from}: cannot write {unc}/{path}: {r.Error}");
    }

    /// <summary>One write that reports failure (e.g. NT_STATUS_ACCESS_DENIED on a read-only share) instead of throwing.</summary>
    public static async Task<SmbRead> TryWriteFileAsync(LabHost from, string unc, string path, byte[] content, CancellationToken ct = default)
    {
        var local = from.Sub($"smbput-{Guid.NewGuid():N}");
        try
        {
            await File.WriteAllBytesAsync(local, content, ct);
            var r = await from.Lab.ExecAsync(from, ["smbclient", unc, "-N", "-c", $"put \"{local}\" \"{SmbPath(path)}\""], TimeSpan.FromSeconds(20), ct);
            // A refused put exits 1 and names the NT status; the status is checked too, in case a later command hides the exit code.
            var said = $"{r.Stderr.Trim()} {r.Stdout.Trim()}".Trim();
            return r.ExitCode == 0 && !said.Contains("NT_STATUS_", StringComparison.Ordinal)
                ? new SmbRead(true, content, "") : new SmbRead(false, [], $"exit {r.ExitCode}: {said}");
        }
        finally
        {
            File.Delete(local);
        }
    }

    /// <summary>
    /// The NetBIOS computer name the server at <paramref name="address"/> gives a new SMB session (the
    /// MsvAvNbComputerName of its NTLMSSP challenge, from `smbclient -L -d 10`): what the running smbd uses
    /// after its last reload, not only what smb.conf says.
    /// </summary>
    public static async Task<string> ServerNameAsync(LabHost from, IPAddress address, CancellationToken ct = default)
    {
        var r = await from.Lab.ExecAsync(from, ["smbclient", "-N", "-L", $"//{address}", "-d", "10"], TimeSpan.FromSeconds(20), ct);
        var m = System.Text.RegularExpressions.Regex.Match(r.Stdout + r.Stderr, @"AvNbComputerName\s*:\s*'([^']*)'");
        return m.Success ? m.Groups[1].Value
            : throw new LabException($"smbclient -L //{address} in {from} showed no NetBIOS computer name (exit {r.ExitCode}): {r.Stderr.Trim()}");
    }

    private static string SmbPath(string path) => path.Replace('/', '\\');
}
