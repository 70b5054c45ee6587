using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Understudy.Agent.Notify;

/// <summary>
/// E-mail: one SMTP session per message (MailKit), STARTTLS as the destination says, then AUTH when a user is given.
/// The message is text for a person with the notification's JSON attached (the same JSON a webhook posts). Its
/// Message-Id is the delivery id, so the retries of one delivery are one message to a mail system that drops repeats.
/// A 5xx reply, a refused log-on, or a server without STARTTLS when it is required is the server's final answer; a
/// 4xx, a broken connection or no answer within the timeout is retried.
/// </summary>
internal static class MailSender
{
    public static async Task<SendResult> SendAsync(Destination d, NotifyMessage msg, byte[] body, CancellationToken ct)
    {
        var m = d.Mail!;
        using var message = Compose(m, msg, body);
        using var client = new SmtpClient { Timeout = (int)Math.Min(int.MaxValue, d.Timeout.TotalMilliseconds) };
        if (m.TrustFile is { } trustFile)
        {
            var trust = LoadTrust(trustFile);
            client.ServerCertificateValidationCallback = (_, cert, chain, errors) => Trusted(trust, cert, chain, errors);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(d.Timeout);
        try
        {
            var tls = m.Tls switch
            {
                MailTls.Required => SecureSocketOptions.StartTls,
                MailTls.Optional => SecureSocketOptions.StartTlsWhenAvailable,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(m.Host, m.Port, tls, timeout.Token);
            if (m.User is { } user)
                await client.AuthenticateAsync(user, m.Password ?? "", timeout.Token);
            var reply = await client.SendAsync(message, timeout.Token);
            bool secure = client.IsSecure;
            await client.DisconnectAsync(quit: true, timeout.Token);
            return SendResult.Delivered($"accepted by {m.Host}:{m.Port}{(secure ? " over TLS" : "")}: {Short(reply)}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return SendResult.Transient($"no answer from {m.Host}:{m.Port} within {d.Timeout.TotalSeconds:0.#} s");
        }
        catch (SmtpCommandException e)
        {
            int code = (int)e.StatusCode;
            var detail = $"SMTP {code} {Short(e.Message)}";
            return code >= 500 ? SendResult.Final(detail + " (refused: not retried)") : SendResult.Transient(detail);
        }
        catch (ServiceNotAuthenticatedException e)
        {
            // A 530 to MAIL: the server wants STARTTLS or a log-on first, which the file does not give it.
            return SendResult.Final($"{m.Host}:{m.Port} wants TLS or a log-on first: {Short(e.Message)} (not retried)");
        }
        catch (AuthenticationException e)
        {
            return SendResult.Final($"{m.Host}:{m.Port} refused the log-on of {m.User}: {Short(e.Message)} (not retried)");
        }
        catch (NotSupportedException e)
        {
            // MailKit's word for "the server has no STARTTLS" (with starttls: required) or no AUTH mechanism we share.
            return SendResult.Final($"{m.Host}:{m.Port}: {Short(e.Message)} (not retried)");
        }
        catch (Exception e) when (e is SslHandshakeException or SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException)
        {
            return SendResult.Transient($"{m.Host}:{m.Port}: {Short(e.Message)}");
        }
    }

    /// <summary>The PEM certificates of a <c>trust_file</c> (read at load to check it, and again at each delivery so a
    /// renewed CA file needs no reload).</summary>
    public static X509Certificate2Collection LoadTrust(string path)
    {
        var c = new X509Certificate2Collection();
        c.ImportFromPemFile(path);
        return c;
    }

    /// <summary>The system's verdict when it trusts the server; otherwise the chain is built again with the trust file's
    /// certificates as the only roots. A name that does not match the host is never accepted.</summary>
    private static bool Trusted(X509Certificate2Collection trust, X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
            return true;
        if (cert is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            return false;
        using var leaf = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
        using var own = new X509Chain();
        own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        own.ChainPolicy.CustomTrustStore.AddRange(trust);
        own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var e in chain.ChainElements)
                own.ChainPolicy.ExtraStore.Add(e.Certificate);
        }
        return own.Build(leaf);
    }

    private static MimeMessage Compose(MailTarget m, NotifyMessage msg, byte[] json)
    {
        var e = msg.Event;
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress($"understudy {msg.Agent.Name}", m.From));
        foreach (var to in m.To)
            message.To.Add(MailboxAddress.Parse(to));
        var what = msg.Kind switch
        {
            NotifyEvent.KindReminder => "reminder: ",
            NotifyEvent.KindTest => "test: ",
            _ => "",
        };
        message.Subject = OneLine($"[understudy {msg.Agent.Name}] {what}{e.Severity} {e.CodeName ?? "event"}{(e.Job is null ? "" : $" {e.Job}")}: {e.Message}", 160);
        message.MessageId = $"{msg.Delivery}@understudy.invalid";
        message.Date = DateTimeOffset.Parse(msg.SentAt, System.Globalization.CultureInfo.InvariantCulture);
        message.Headers.Add(WebhookSender.DeliveryHeader, msg.Delivery);
        message.Headers.Add(WebhookSender.EventHeader, e.CodeName ?? "Unknown");
        var text = $"""
            {e.Message}

            agent:     {msg.Agent.Name} ({msg.Agent.Id})
            event:     {e.Code} {e.CodeName} ({e.Severity}, {e.Category})
            job:       {e.Job ?? "-"}
            time:      {e.Time}
            sent as:   {msg.Kind}, attempt {msg.Attempt}
            delivery:  {msg.Delivery}

            The attached understudy-notification.json is what a webhook receives (docs/monitoring.md).
            """;
        var attachment = new MimePart("application", "json")
        {
            Content = new MimeContent(new MemoryStream(json)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = "understudy-notification.json",
        };
        message.Body = new Multipart("mixed") { new TextPart("plain") { Text = text }, attachment };
        return message;
    }

    private static string OneLine(string s, int max)
    {
        var flat = new string([.. s.Select(c => char.IsControl(c) ? ' ' : c)]);
        return flat.Length > max ? flat[..(max - 1)] + "…" : flat;
    }

    private static string Short(string s) => OneLine(s.Trim(), 200);
}
