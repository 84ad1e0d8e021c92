// The compiler core (src/Fusion.Core) is used throughout the generator.
global using Fusion.Compiler;
