namespace Fusion.Generator { internal static class Placeholder { } }
