using System.Diagnostics;
using System.Globalization;

namespace Understudy.Agent.Tests.WriteOrder;

/// <summary>
/// A SQLite "bank" driven through the sqlite3 shell: transfers between accounts (the balances' sum never changes),
/// each with a history row and a commit counter bumped in the same transaction. The shell prints the counter after
/// each COMMIT and flushes, so a line read is an acknowledged commit, and its time is when the test saw it.
/// </summary>
internal sealed class SqliteBank : IDisposable
{
    public const string Sqlite3 = "/usr/bin/sqlite3";
    public const int Accounts = 50;
    public const long Opening = 1000;

    private readonly Process _shell;
    private readonly List<(DateTime At, long N)> _acks = [];
    private readonly Random _random;
    private Task? _loop;

    private SqliteBank(Process shell, int seed)
    {
        _shell = shell;
        _random = new Random(seed);
    }

    public int Pid => _shell.Id;

    /// <summary>Creates the database in <paramref name="journal"/> mode (wal or delete) with synchronous=FULL.</summary>
    public static SqliteBank Open(string path, string journal, int seed)
    {
        var psi = new ProcessStartInfo(Sqlite3) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-batch", "-bail", path })
            psi.ArgumentList.Add(a);
        var shell = Process.Start(psi)!;
        var bank = new SqliteBank(shell, seed);
        _ = shell.StandardError.ReadToEndAsync();
        var accounts = string.Join(',', Enumerable.Range(0, Accounts).Select(i => $"({i},{Opening})"));
        bank.Execute($"""
            PRAGMA journal_mode={journal};
            PRAGMA synchronous=FULL;
            CREATE TABLE accounts(id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);
            CREATE TABLE counter(n INTEGER NOT NULL);
            CREATE TABLE history(n INTEGER PRIMARY KEY, a INTEGER, b INTEGER, x INTEGER, pad BLOB);
            CREATE INDEX history_a ON history(a, x);
            INSERT INTO accounts VALUES {accounts};
            INSERT INTO counter VALUES (0);
            SELECT 'ready';
            """, "ready");
        return bank;
    }

    private void Execute(string sql, string until)
    {
        _shell.StandardInput.WriteLine(sql);
        _shell.StandardInput.Flush();
        while (_shell.StandardOutput.ReadLine() is { } line)
        {
            if (line == until)
                return;
        }
        throw new InvalidOperationException("sqlite3 ended before answering");
    }

    /// <summary>Commits transfers without pause until the shell dies (it is killed with the source).</summary>
    public void Start() => _loop = Task.Run(Run);

    private void Run()
    {
        try
        {
            for (long n = 1; ; n++)
            {
                int a = _random.Next(Accounts), b = _random.Next(Accounts), x = _random.Next(1, 100);
                // The history rows (random blobs, an index) grow the file: page splits, and in WAL mode checkpoints
                // into the database file while it is being replicated.
                _shell.StandardInput.WriteLine($"""
                    BEGIN IMMEDIATE;
                    UPDATE accounts SET bal = bal - {x} WHERE id = {a};
                    UPDATE accounts SET bal = bal + {x} WHERE id = {b};
                    INSERT INTO history VALUES ({n}, {a}, {b}, {x}, randomblob({_random.Next(50, 700)}));
                    UPDATE counter SET n = {n};
                    COMMIT;
                    SELECT n FROM counter;
                    """);
                _shell.StandardInput.Flush();
                var line = _shell.StandardOutput.ReadLine();
                if (line is null)
                    return;
                var at = DateTime.UtcNow;
                lock (_acks)
                    _acks.Add((at, long.Parse(line, CultureInfo.InvariantCulture)));
            }
        }
        catch (IOException)
        {
            // the shell was killed
        }
    }

    public int Acknowledged
    {
        get
        {
            lock (_acks)
                return _acks.Count;
        }
    }

    /// <summary>The newest commit acknowledged at or before <paramref name="at"/> (0: none).</summary>
    public long AcknowledgedBy(DateTime at)
    {
        lock (_acks)
            return _acks.LastOrDefault(a => a.At <= at).N;
    }

    /// <summary>When commit <paramref name="n"/> was acknowledged (null: never).</summary>
    public DateTime? AcknowledgedAt(long n)
    {
        lock (_acks)
            return _acks.FirstOrDefault(a => a.N == n) is { N: > 0 } a ? a.At : null;
    }

    public void WaitEnded()
    {
        _shell.WaitForExit();
        _loop?.Wait();
    }

    public void Dispose()
    {
        if (!_shell.HasExited)
            _shell.Kill();
        _shell.Dispose();
    }

    /// <summary>Runs sqlite3 on a database (one statement a line of output) and returns its output lines.</summary>
    public static string[] Query(string path, string sql)
    {
        var psi = new ProcessStartInfo(Sqlite3) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-batch", path, sql })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries), .. err.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(e => "stderr: " + e)];
    }
}
