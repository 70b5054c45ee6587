using MimeKit;
using YamlDotNet.RepresentationModel;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Notify;

internal static partial class NotifyFile
{
    private static readonly string[] TlsWords = ["required", "optional", "none"];

    /// <summary>
    /// <c>email: { host, port, from, to, starttls, user, password_file, trust_file }</c>. The password is only ever read
    /// from a file (0600, like the API token), so the notify file itself holds no secret and can be shown; it is read now,
    /// so a missing or unreadable file is a load error with its line, not a failure at the first delivery.
    /// </summary>
    private static MailTarget? ParseMail(YamlReader y, YamlNode? node, string path)
    {
        if (y.Mapping(node, path, "{ host: smtp.example.org, from: understudy@example.org, to: [ops@example.org] }") is not { } map)
            return null;
        if (map.Children.Keys.OfType<YamlScalarNode>().FirstOrDefault(k => k.Value == "password") is { } inline)
            throw y.Error(inline, path + ".password", "a password is read from a file only: give password_file (a file only root reads)");
        var keys = y.Keys(map, path, "host", "port", "from", "to", "starttls", "user", "password_file", "trust_file");
        var host = y.RequiredString(keys, map, path, "host", "the SMTP server's name or address");
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw y.Error(keys["host"], path + ".host", $"expected a host name or address, got '{host}'");
        var tlsText = y.String(keys.GetValueOrDefault("starttls"), path + ".starttls") ?? "required";
        var tls = Array.IndexOf(TlsWords, tlsText) switch
        {
            0 => MailTls.Required,
            1 => MailTls.Optional,
            2 => MailTls.None,
            _ => throw y.Error(keys["starttls"], path + ".starttls", $"expected one of {string.Join(", ", TlsWords)}, got '{tlsText}'"),
        };
        var port = y.Int(keys.GetValueOrDefault("port"), path + ".port") ?? (tls == MailTls.None ? 25 : 587);
        if (port is < 1 or > 65535)
            throw y.Error(keys["port"], path + ".port", $"expected a port from 1 to 65535, got {port}");
        var from = Address(y, keys.GetValueOrDefault("from") ?? throw y.Error(map, path + ".from", "required: the sender's address, like understudy@example.org"),
            path + ".from");
        var toNodes = y.Sequence(keys.GetValueOrDefault("to"), path + ".to", "[ops@example.org]");
        if (toNodes.Count == 0)
            throw y.Error(map, path + ".to", "required: the recipients, like [ops@example.org]");
        var to = toNodes.Select((n, i) => Address(y, n, $"{path}.to[{i}]")).ToList();
        var user = y.String(keys.GetValueOrDefault("user"), path + ".user");
        var passwordFile = y.AbsolutePath(keys.GetValueOrDefault("password_file"), path + ".password_file");
        if ((user is null) != (passwordFile is null))
            throw y.Error(map, path, "give user and password_file together (or neither: no authentication)");
        string? password = null;
        if (passwordFile is not null)
        {
            try
            {
                password = File.ReadAllText(passwordFile).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw y.Error(keys["password_file"], path + ".password_file", $"cannot read it: {e.Message}");
            }
            if (password.Length == 0)
                throw y.Error(keys["password_file"], path + ".password_file", "the password file is empty");
            if (tls == MailTls.None)
                throw y.Error(map, path, "a password is not sent without TLS: set starttls: required (or optional) with user and password_file");
        }
        var trustFile = y.AbsolutePath(keys.GetValueOrDefault("trust_file"), path + ".trust_file");
        if (trustFile is not null)
        {
            try
            {
                if (MailSender.LoadTrust(trustFile).Count == 0)
                    throw y.Error(keys["trust_file"], path + ".trust_file", "no PEM certificate in it");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw y.Error(keys["trust_file"], path + ".trust_file", $"cannot read it: {e.Message}");
            }
        }
        return new MailTarget(host, port, from, to, tls, user, password, trustFile);
    }

    private static string Address(YamlReader y, YamlNode node, string path)
    {
        var text = y.String(node, path) ?? "";
        // One plain mailbox: a display name or a group would make "to" mean more than the file shows.
        if (!MailboxAddress.TryParse(text, out var m) || !string.IsNullOrEmpty(m.Name) || !m.Address.Contains('@') || m.Address != text.Trim())
            throw y.Error(node, path, $"expected an e-mail address like ops@example.org, got '{text}'");
        return m.Address;
    }
}
