using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MimeKit;

namespace Understudy.Agent.Tests.Observability;

/// <summary>
/// An SMTP server in the test process that speaks the real protocol over a real socket (RFC 5321, STARTTLS RFC 3207
/// with a self-signed certificate written to <see cref="CertificateFile"/> for the agent's <c>trust_file</c>, AUTH
/// PLAIN and LOGIN RFC 4954) and keeps each message it accepts. Like a submission server it refuses MAIL before
/// STARTTLS when <c>requireTls</c>, and before AUTH when a user is set; <c>tempFailFirst</c> answers 451 to that many
/// MAIL commands first, to make the agent retry.
/// </summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _cert;
    private readonly bool _requireTls;
    private readonly (string User, string Password)? _login;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _sessions = [];
    private int _failLeft;

    public SmtpSink(string certificateFile, bool requireTls = true, (string User, string Password)? login = null, int tempFailFirst = 0)
    {
        _requireTls = requireTls;
        _login = login;
        _failLeft = tempFailFirst;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=smtp-sink", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12 so that SslStream's server side finds a usable private key.
        _cert = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        CertificateFile = certificateFile;
        File.WriteAllText(certificateFile, _cert.ExportCertificatePem());
        _listener.Start();
        _loop = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The server's certificate (PEM): what the agent's <c>trust_file</c> names.</summary>
    public string CertificateFile { get; }

    /// <summary>Accepted messages in arrival order, with whether the session was under TLS and who logged on.</summary>
    public ConcurrentQueue<(MimeMessage Message, string From, IReadOnlyList<string> To, bool Tls, string? User)> Received { get; } = new();

    /// <summary>Every reply a session refused with (4xx, 5xx), to see why a delivery failed.</summary>
    public ConcurrentQueue<string> Refusals { get; } = new();

    /// <summary>The attached notification JSON of each accepted message.</summary>
    public IEnumerable<JsonNode> Json => Received.Select(r => JsonNode.Parse(r.Message.Attachments.OfType<MimePart>()
        .Single(p => p.FileName == "understudy-notification.json").Content!.Open())!);

    public IEnumerable<JsonNode> Of(string kind, string codeName) =>
        Json.Where(m => m["kind"]?.GetValue<string>() == kind && m["event"]?["codeName"]?.GetValue<string>() == codeName);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _sessions.Add(SessionAsync(client));
        }
    }

    private async Task SessionAsync(TcpClient client)
    {
        using (client)
        {
            Stream stream = client.GetStream();
            bool tls = false;
            string? user = null;
            string? from = null;
            var to = new List<string>();
            try
            {
                await ReplyAsync(stream, "220 smtp-sink ESMTP ready");
                while (await ReadLineAsync(stream) is { } line)
                {
                    var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                    var arg = line.Length > verb.Length ? line[(verb.Length + 1)..] : "";
                    switch (verb)
                    {
                        case "EHLO":
                            var ext = new List<string> { "smtp-sink", "8BITMIME" };
                            if (!tls)
                                ext.Add("STARTTLS");
                            if (tls || !_requireTls)
                                ext.Add("AUTH PLAIN LOGIN");
                            for (int i = 0; i < ext.Count; i++)
                                await ReplyAsync(stream, $"250{(i == ext.Count - 1 ? ' ' : '-')}{ext[i]}");
                            break;
                        case "HELO":
                            await ReplyAsync(stream, "250 smtp-sink");
                            break;
                        case "STARTTLS" when !tls:
                            await ReplyAsync(stream, "220 2.0.0 go ahead");
                            var ssl = new SslStream(stream);
                            await ssl.AuthenticateAsServerAsync(_cert, false, false);
                            stream = ssl;
                            tls = true;
                            // RFC 3207 4.2: everything said before TLS is forgotten.
                            (user, from) = (null, null);
                            to.Clear();
                            break;
                        case "AUTH":
                            user = await AuthAsync(stream, arg);
                            break;
                        case "MAIL":
                            if (_requireTls && !tls)
                                await RefuseAsync(stream, "530 5.7.0 Must issue a STARTTLS command first");
                            else if (_login is not null && user is null)
                                await RefuseAsync(stream, "530 5.7.0 Authentication required");
                            else if (Interlocked.Decrement(ref _failLeft) >= 0)
                                await RefuseAsync(stream, "451 4.3.0 Try again later");
                            else
                            {
                                from = Path(arg);
                                to.Clear();
                                await ReplyAsync(stream, "250 2.1.0 Ok");
                            }
                            break;
                        case "RCPT":
                            if (from is null)
                            {
                                await RefuseAsync(stream, "503 5.5.1 MAIL first");
                                break;
                            }
                            to.Add(Path(arg));
                            await ReplyAsync(stream, "250 2.1.5 Ok");
                            break;
                        case "DATA":
                            if (from is null || to.Count == 0)
                            {
                                await RefuseAsync(stream, "503 5.5.1 RCPT first");
                                break;
                            }
                            await ReplyAsync(stream, "354 End data with <CR><LF>.<CR><LF>");
                            var data = new StringBuilder();
                            while (await ReadLineAsync(stream) is { } d && d != ".")
                                data.Append(d.StartsWith('.') ? d[1..] : d).Append("\r\n");
                            var message = await MimeMessage.LoadAsync(new MemoryStream(Encoding.UTF8.GetBytes(data.ToString())));
                            Received.Enqueue((message, from, [.. to], tls, user));
                            (from, to) = (null, []);
                            await ReplyAsync(stream, "250 2.0.0 Ok: queued");
                            break;
                        case "RSET":
                            (from, to) = (null, []);
                            await ReplyAsync(stream, "250 2.0.0 Ok");
                            break;
                        case "NOOP":
                            await ReplyAsync(stream, "250 2.0.0 Ok");
                            break;
                        case "QUIT":
                            await ReplyAsync(stream, "221 2.0.0 Bye");
                            return;
                        default:
                            await RefuseAsync(stream, "502 5.5.2 Command not recognized");
                            break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
            {
                // The client went away (or gave up on TLS): the session ends, as a real server's would.
            }
            finally
            {
                await stream.DisposeAsync();
            }
        }
    }

    /// <summary>AUTH PLAIN (the credentials on the line or after 334) or AUTH LOGIN; the user when accepted.</summary>
    private async Task<string?> AuthAsync(Stream stream, string arg)
    {
        var parts = arg.Split(' ', 2);
        string user, password;
        if (parts[0].Equals("PLAIN", StringComparison.OrdinalIgnoreCase))
        {
            var initial = parts.Length > 1 ? parts[1] : null;
            if (initial is null)
            {
                await ReplyAsync(stream, "334 ");
                initial = await ReadLineAsync(stream) ?? "";
            }
            var fields = Encoding.UTF8.GetString(Convert.FromBase64String(initial)).Split('\0');
            (user, password) = (fields[1], fields[2]);
        }
        else if (parts[0].Equals("LOGIN", StringComparison.OrdinalIgnoreCase))
        {
            await ReplyAsync(stream, "334 VXNlcm5hbWU6");
            user = Encoding.UTF8.GetString(Convert.FromBase64String(await ReadLineAsync(stream) ?? ""));
            await ReplyAsync(stream, "334 UGFzc3dvcmQ6");
            password = Encoding.UTF8.GetString(Convert.FromBase64String(await ReadLineAsync(stream) ?? ""));
        }
        else
        {
            await RefuseAsync(stream, "504 5.5.4 Unrecognized authentication type");
            return null;
        }
        if (_login is { } l && l.User == user && l.Password == password)
        {
            await ReplyAsync(stream, "235 2.7.0 Authentication successful");
            return user;
        }
        await RefuseAsync(stream, "535 5.7.8 Authentication credentials invalid");
        return null;
    }

    private static string Path(string arg)
    {
        int open = arg.IndexOf('<', StringComparison.Ordinal), close = arg.IndexOf('>', StringComparison.Ordinal);
        return open >= 0 && close > open ? arg[(open + 1)..close] : arg;
    }

    private async Task RefuseAsync(Stream stream, string reply)
    {
        Refusals.Enqueue(reply);
        await ReplyAsync(stream, reply);
    }

    private static async Task ReplyAsync(Stream stream, string reply)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\r\n"));
        await stream.FlushAsync();
    }

    /// <summary>One CRLF-ended line, a byte at a time: nothing is read past it, so STARTTLS can take the stream over
    /// right after its command.</summary>
    private static async Task<string?> ReadLineAsync(Stream stream)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one) == 0)
                return null;
            if (one[0] == '\n')
                return Encoding.UTF8.GetString([.. line]).TrimEnd('\r');
            line.Add(one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        await Task.WhenAll(_sessions).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _listener.Dispose();
        _cert.Dispose();
        _stop.Dispose();
    }
}
