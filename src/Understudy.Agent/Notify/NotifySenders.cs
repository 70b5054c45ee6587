using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Understudy.Agent.Notify;

/// <summary>One attempt's outcome. <paramref name="Retry"/>: the failure may pass (a refused connection, a timeout, a
/// 5xx), so another attempt follows; a 4xx other than 408 and 429 is the receiver's "no" and is final.</summary>
internal readonly record struct SendResult(bool Ok, bool Retry, string Detail)
{
    public static SendResult Delivered(string detail) => new(true, false, detail);

    public static SendResult Transient(string detail) => new(false, true, detail);

    public static SendResult Final(string detail) => new(false, false, detail);
}

/// <summary>Webhook: a JSON POST. The signature header is GitHub's form, <c>sha256=</c> and the lower-case hex
/// HMAC-SHA256 of the exact body bytes under the destination's secret (docs/monitoring.md shows how to check it).</summary>
internal sealed class WebhookSender(string userAgent) : IDisposable
{
    public const string SignatureHeader = "X-Understudy-Signature-256";
    public const string DeliveryHeader = "X-Understudy-Delivery";
    public const string EventHeader = "X-Understudy-Event";

    // No automatic redirects: a signed message goes to the URL the file names, nowhere else.
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static string Sign(byte[] secret, byte[] body) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(secret, body));

    public async Task<SendResult> SendAsync(Destination d, NotifyMessage msg, byte[] body, CancellationToken ct)
    {
        var w = d.Webhook!;
        using var req = new HttpRequestMessage(HttpMethod.Post, w.Url) { Content = new ByteArrayContent(body) };
        req.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        req.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        req.Headers.Add(DeliveryHeader, msg.Delivery);
        req.Headers.Add(EventHeader, msg.Event.CodeName ?? "Unknown");
        if (w.Secret is { } secret)
            req.Headers.Add(SignatureHeader, Sign(secret, body));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(d.Timeout);
        try
        {
            using var resp = await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            int code = (int)resp.StatusCode;
            if (resp.IsSuccessStatusCode)
                return SendResult.Delivered($"HTTP {code}");
            return code is >= 500 or (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests
                ? SendResult.Transient($"HTTP {code} {resp.ReasonPhrase}")
                : SendResult.Final($"HTTP {code} {resp.ReasonPhrase} (refused: not retried)");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return SendResult.Transient($"no answer within {d.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return SendResult.Transient(e.Message);
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Exec: the program with its arguments (no shell), the message's JSON on standard input and its main fields in
/// the environment. Exit 0 is delivered; anything else, or no exit within the timeout (the process tree is killed), is retried.</summary>
internal static class ExecSender
{
    public static async Task<SendResult> SendAsync(Destination d, NotifyMessage msg, byte[] body, CancellationToken ct)
    {
        var x = d.Exec!;
        var psi = new ProcessStartInfo(x.Run)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in x.Args)
            psi.ArgumentList.Add(a);
        var e = msg.Event;
        psi.Environment["UNDERSTUDY_NOTIFY_KIND"] = msg.Kind;
        psi.Environment["UNDERSTUDY_NOTIFY_DELIVERY"] = msg.Delivery;
        psi.Environment["UNDERSTUDY_AGENT"] = msg.Agent.Name;
        psi.Environment["UNDERSTUDY_EVENT_CODE"] = (e.Code ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["UNDERSTUDY_EVENT_NAME"] = e.CodeName ?? "Unknown";
        psi.Environment["UNDERSTUDY_EVENT_SEVERITY"] = e.Severity;
        psi.Environment["UNDERSTUDY_EVENT_CATEGORY"] = e.Category;
        psi.Environment["UNDERSTUDY_JOB"] = e.Job ?? "";
        psi.Environment["UNDERSTUDY_MESSAGE"] = e.Message;
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return SendResult.Transient($"cannot run {x.Run}: {ex.Message}");
        }
        using (p)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(d.Timeout);
            var stderr = p.StandardError.ReadToEndAsync(timeout.Token);
            var stdout = p.StandardOutput.ReadToEndAsync(timeout.Token);
            try
            {
                try
                {
                    await p.StandardInput.BaseStream.WriteAsync(body, timeout.Token);
                    p.StandardInput.Close();
                }
                catch (IOException)
                {
                    // The program did not read its input (a broken pipe): its exit status still says whether it delivered.
                }
                await p.WaitForExitAsync(timeout.Token);
                await Task.WhenAll(stderr, stdout);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync(CancellationToken.None);
                if (ct.IsCancellationRequested)
                    throw;
                return SendResult.Transient($"{x.Run} did not exit within {d.Timeout.TotalSeconds:0.#} s (killed)");
            }
            if (p.ExitCode == 0)
                return SendResult.Delivered("exit 0");
            var err = (await stderr).Trim();
            return SendResult.Transient($"{x.Run} exited {p.ExitCode}" + (err.Length == 0 ? "" : $": {(err.Length > 200 ? err[..200] + "…" : err)}"));
        }
    }
}
