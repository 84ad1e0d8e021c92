using System;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Interception
{
    /// <summary>
    /// Whether the compilation lets interceptors in <see cref="Namespace"/> run. MSBuild's InterceptorsNamespaces property
    /// reaches the compiler as the parse-option feature of the same name (csc /features:InterceptorsNamespaces=...), the
    /// very value the compiler checks, so reading it here needs no CompilerVisibleProperty and cannot disagree with it.
    /// </summary>
    internal static class InterceptorOptIn
    {
        public const string Namespace = "Fusion.Generated";

        // InterceptorsPreviewNamespaces is the .NET 8 name the compiler still accepts.
        private static readonly string[] s_features = { "InterceptorsNamespaces", "InterceptorsPreviewNamespaces" };

        public static bool IsEnabled(ParseOptions options) =>
            s_features.Any(key => options.Features.TryGetValue(key, out var list) &&
                list.Split(';').Select(ns => ns.Trim()).Any(Covers));

        // A listed namespace also admits the namespaces nested in it.
        private static bool Covers(string listed) =>
            listed.Length > 0 && (listed == Namespace || Namespace.StartsWith(listed + ".", StringComparison.Ordinal));
    }
}
