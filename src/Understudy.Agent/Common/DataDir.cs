using System.Security.Cryptography;

namespace Understudy.Agent.Common;

/// <summary>The agent's data directory: identity, API token, state store, queues.</summary>
internal static class DataDir
{
    public const string Default = "/var/lib/understudy";
    public const string TokenFile = "api-token";

    /// <summary>A token that reads GET /metrics and nothing else (docs/monitoring.md), for a scraper's credentials file.</summary>
    public const string MetricsTokenFile = "metrics-token";
    public const string ApiAddressFile = "api-address";

    public static void Ensure(string dir)
    {
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Writes a file readable by its owner only, atomically (temp + rename).</summary>
    public static void WritePrivateFile(string path, ReadOnlySpan<byte> content)
    {
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            fs.Write(content);
            fs.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, path, overwrite: true);
    }

    public static string LoadOrCreateToken(string dir, string file = TokenFile)
    {
        var path = Path.Combine(dir, file);
        if (File.Exists(path))
        {
            var t = File.ReadAllText(path).Trim();
            if (t.Length >= 32)
                return t;
        }
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        WritePrivateFile(path, System.Text.Encoding.ASCII.GetBytes(token + "\n"));
        return token;
    }
}
