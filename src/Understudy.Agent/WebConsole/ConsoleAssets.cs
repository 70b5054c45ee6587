using System.Collections.Frozen;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Understudy.Agent.WebConsole;

/// <summary>One file of the web console, with its compressed forms made once at start-up.</summary>
internal sealed record ConsoleAsset(string Path, string ContentType, byte[] Raw, byte[] Brotli, byte[] Gzip, string ETag);

/// <summary>
/// The web console's static files, embedded in this assembly (logical names <c>console/…</c>) so the
/// agent is one binary that needs no internet. Served with an ETag and <c>no-cache</c> (the browser
/// revalidates, so an upgraded agent never runs an old script against a new API), Brotli or gzip
/// when the browser accepts it, and a CSP that allows API calls to other agents but no other code.
/// </summary>
internal static class ConsoleAssets
{
    private const string Prefix = "console/";

    private static readonly Lazy<FrozenDictionary<string, ConsoleAsset>> All = new(Load);

    public static IReadOnlyDictionary<string, ConsoleAsset> Files => All.Value;

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var asset in Files.Values)
        {
            app.MapGet("/" + asset.Path, (HttpContext http) => ServeAsync(http, asset)).ExcludeFromDescription();
            if (asset.Path == "index.html")
                app.MapGet("/", (HttpContext http) => ServeAsync(http, asset)).ExcludeFromDescription();
        }
    }

    private static async Task ServeAsync(HttpContext http, ConsoleAsset asset)
    {
        var h = http.Response.Headers;
        h.CacheControl = "no-cache";
        h.ETag = asset.ETag;
        h.Vary = "Accept-Encoding";
        h.XContentTypeOptions = "nosniff";
        h["Referrer-Policy"] = "no-referrer";
        h.ContentSecurityPolicy = "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        if (http.Request.Headers.IfNoneMatch.Contains(asset.ETag))
        {
            http.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        http.Response.ContentType = asset.ContentType;
        var accept = http.Request.Headers.AcceptEncoding.ToString();
        byte[] body = asset.Raw;
        if (accept.Contains("br", StringComparison.OrdinalIgnoreCase) && asset.Brotli.Length < asset.Raw.Length)
        {
            body = asset.Brotli;
            h.ContentEncoding = "br";
        }
        else if (accept.Contains("gzip", StringComparison.OrdinalIgnoreCase) && asset.Gzip.Length < asset.Raw.Length)
        {
            body = asset.Gzip;
            h.ContentEncoding = "gzip";
        }
        http.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(http.Request.Method))
            await http.Response.Body.WriteAsync(body, http.RequestAborted);
    }

    private static FrozenDictionary<string, ConsoleAsset> Load()
    {
        var asm = typeof(ConsoleAssets).Assembly;
        var files = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var s = asm.GetManifestResourceStream(name)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            var raw = ms.ToArray();
            var path = name[Prefix.Length..].Replace('\\', '/');
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(raw))[..16] + "\"";
            files[path] = new ConsoleAsset(path, ContentTypeOf(path), raw, Compress(raw, brotli: true), Compress(raw, brotli: false), etag);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Compress(byte[] raw, bool brotli)
    {
        using var ms = new MemoryStream();
        using (Stream z = brotli ? new BrotliStream(ms, CompressionLevel.SmallestSize) : new GZipStream(ms, CompressionLevel.SmallestSize))
            z.Write(raw);
        return ms.ToArray();
    }

    internal static string ContentTypeOf(string path) => System.IO.Path.GetExtension(path) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}
