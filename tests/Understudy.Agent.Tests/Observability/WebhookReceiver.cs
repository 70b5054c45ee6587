using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Understudy.Testing;

namespace Understudy.Agent.Tests.Observability;

/// <summary>
/// A webhook endpoint in the test process (HttpListener on loopback): checks each request's HMAC-SHA256 signature
/// against the secret it was given, as a real receiver must, and keeps what arrived. <see cref="FailFirst"/> answers
/// 503 to that many requests first, to make the agent retry.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly byte[] _secret;
    private readonly Task _loop;
    private int _failLeft;

    public WebhookReceiver(string secret, int failFirst = 0)
    {
        _secret = Encoding.UTF8.GetBytes(secret);
        _failLeft = failFirst;
        // A free port can be taken by another process before HttpListener binds it (it failed so once, "Address
        // already in use", with other test runs beside it): another port then.
        for (int attempt = 1; ; attempt++)
        {
            Port = Ports.Free();
            _listener = new HttpListener();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                _listener.Close();
            }
        }
        _loop = LoopAsync();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/hook";

    /// <summary>Requests whose signature matched, their JSON bodies in arrival order.</summary>
    public ConcurrentQueue<JsonNode> Received { get; } = new();

    /// <summary>Requests refused: no or a wrong signature (should stay empty).</summary>
    public ConcurrentQueue<string> Refused { get; } = new();

    /// <summary>Every request, answered 503 or not (delivery ids), to count attempts.</summary>
    public ConcurrentQueue<string> Attempts { get; } = new();

    public IEnumerable<JsonNode> Of(string kind, string codeName) =>
        Received.Where(m => m["kind"]?.GetValue<string>() == kind && m["event"]?["codeName"]?.GetValue<string>() == codeName);

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var body = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(body);
            var bytes = body.ToArray();
            Attempts.Enqueue(ctx.Request.Headers["X-Understudy-Delivery"] ?? "");
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(_secret, bytes));
            var given = ctx.Request.Headers["X-Understudy-Signature-256"] ?? "";
            int status;
            if (Interlocked.Decrement(ref _failLeft) >= 0)
            {
                status = 503;
            }
            else if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(given)))
            {
                Refused.Enqueue($"signature '{given}', expected '{expected}'");
                status = 401;
            }
            else
            {
                Received.Enqueue(JsonNode.Parse(bytes)!);
                status = 204;
            }
            ctx.Response.StatusCode = status;
            ctx.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
