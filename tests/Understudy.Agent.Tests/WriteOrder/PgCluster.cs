using System.Diagnostics;
using System.Globalization;

namespace Understudy.Agent.Tests.WriteOrder;

/// <summary>
/// A PostgreSQL 15 cluster (Debian's postgresql package) run by the test: initdb into a directory, started by pg_ctl
/// as the postgres user (the server refuses root) on a unix socket only, in UTC (pgbench_history.mtime is compared with
/// the test's clock). Clients connect as root with -U postgres (trust).
/// </summary>
internal sealed class PgCluster
{
    public const string Bin = "/usr/lib/postgresql/15/bin";
    private const int Port = 5432;

    private PgCluster(string data, string socket)
    {
        Data = data;
        Socket = socket;
    }

    public string Data { get; }

    /// <summary>The socket directory; the server's log is there too.</summary>
    public string Socket { get; }

    public string LogFile => Path.Combine(Socket, "server.log");

    public static PgCluster InitDb(string data, string socket)
    {
        Directory.CreateDirectory(data);
        Run("chown", "postgres:postgres", data);
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        RunAsPostgres(Path.Combine(Bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C");
        return Over(data, socket);
    }

    /// <summary>A cluster over an existing data directory (a replica), with a socket directory of its own.</summary>
    public static PgCluster Over(string data, string socket)
    {
        Directory.CreateDirectory(socket);
        Run("chown", "postgres:postgres", socket);
        return new PgCluster(data, socket);
    }

    /// <summary>Starts the server and waits until it accepts connections: on a crashed cluster's copy this is crash
    /// recovery, which must succeed. Returns false (the log says why) when it does not start.</summary>
    public bool TryStart()
    {
        var r = Exec("runuser", "-u", "postgres", "--", Path.Combine(Bin, "pg_ctl"), "-D", Data, "-w", "-t", "180", "-l", LogFile,
            "-o", $"-k {Socket} -p {Port} -c listen_addresses='' -c timezone=UTC -c fsync=on -c synchronous_commit=on", "start");
        return r.ExitCode == 0;
    }

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";

    /// <summary>The postmaster's pid and its children's (every backend and auxiliary process), read before any is killed.</summary>
    public IReadOnlyList<int> Processes()
    {
        int postmaster = int.Parse(File.ReadLines(Path.Combine(Data, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        var all = new List<int> { postmaster };
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
                    all.Add(pid);
            }
            catch (IOException)
            {
                // gone meanwhile
            }
        }
        return all;
    }

    public void StopImmediate() => Exec("runuser", "-u", "postgres", "--", Path.Combine(Bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop");

    /// <summary>Runs a client program (psql, pgbench, pg_amcheck) against the server.</summary>
    public (int ExitCode, string Output) Client(string program, params string[] args) =>
        Exec(Path.Combine(Bin, program), [.. args, "-h", Socket, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres"]);

    /// <summary>One row of psql output, fields split on '|'.</summary>
    public string[] Row(string sql)
    {
        var (code, output) = Client("psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql);
        if (code != 0)
            throw new InvalidOperationException($"psql: {output}");
        return output.Trim().Split('|');
    }

    /// <summary>pgbench under load until killed: 4 clients, no vacuum, for at most 10 minutes.</summary>
    public Process StartLoad()
    {
        var psi = new ProcessStartInfo(Path.Combine(Bin, "pgbench")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-h", Socket, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-n", "-c", "4", "-j", "2", "-T", "600", "postgres" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        return p;
    }

    private static void RunAsPostgres(string exe, params string[] args) => Run("runuser", ["-u", "postgres", "--", exe, .. args]);

    private static void Run(string exe, params string[] args)
    {
        var (code, output) = Exec(exe, args);
        if (code != 0)
            throw new InvalidOperationException($"{exe} {string.Join(' ', args)}: exit {code}: {output}");
    }

    private static (int ExitCode, string Output) Exec(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }
}
