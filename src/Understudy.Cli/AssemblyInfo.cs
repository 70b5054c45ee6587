[assembly: CLSCompliant(false)]

// The CLI's own rules (where a token may be sent, how names are printed) are tested without a process.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Understudy.Console.Tests")]
