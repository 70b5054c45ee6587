using SharpFuzz;
using Understudy.Fuzz;

// Understudy.Fuzz HARNESS            run under afl-fuzz (bench/fuzz.sh); input on stdin
// Understudy.Fuzz HARNESS FILE...    replay inputs (a crash afl found) and say which ones fail
// Understudy.Fuzz seed DIR           write the seed corpus, DIR/HARNESS/NAME, from the real encoders
// Understudy.Fuzz list               the harnesses and what each covers
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Understudy.Fuzz list | seed DIR | HARNESS [FILE...]");
    return 2;
}
if (args[0] == "list")
{
    foreach (var h in Harnesses.All)
        Console.WriteLine($"{h.Name,-8} {h.Covers}");
    return 0;
}
if (args[0] == "seed" && args.Length == 2)
{
    foreach (var h in Harnesses.All)
    {
        var dir = Directory.CreateDirectory(Path.Combine(args[1], h.Name)).FullName;
        foreach (var (name, data) in h.Seeds())
            File.WriteAllBytes(Path.Combine(dir, name), data);
    }
    return 0;
}
if (Harnesses.Find(args[0]) is not { } harness)
{
    Console.Error.WriteLine($"unknown harness '{args[0]}'; known: {string.Join(", ", Harnesses.All.Select(h => h.Name))}");
    return 2;
}
if (args.Length > 1)
{
    int failed = 0;
    foreach (var file in args.Skip(1))
    {
        try
        {
            harness.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok    {file}");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"FAIL  {file}: {e.GetType().Name}: {e.Message}");
            Console.WriteLine(e.StackTrace);
        }
    }
    return failed == 0 ? 0 : 1;
}
// Out of process: a child runs the inputs, so a stack overflow or a hang costs afl one restart, not the fork server.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    harness.Run(copy.ToArray());
});
return 0;
