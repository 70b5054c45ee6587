[assembly: CLSCompliant(false)]
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
