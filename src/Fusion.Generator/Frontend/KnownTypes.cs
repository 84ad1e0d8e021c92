using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Frontend
{
    /// <summary>The Fusion.Runtime types the front end recognises, resolved once per extraction.</summary>
    internal sealed class KnownTypes
    {
        public KnownTypes(Compilation compilation)
        {
            Tensor = compilation.GetTypeByMetadataName("Fusion.Tensor");
            Operators = compilation.GetTypeByMetadataName("Fusion.F");
            Module = compilation.GetTypeByMetadataName("Fusion.Module");
            Linear = compilation.GetTypeByMetadataName("Fusion.Linear");
            LayerNorm = compilation.GetTypeByMetadataName("Fusion.LayerNorm");
            RmsNorm = compilation.GetTypeByMetadataName("Fusion.RmsNorm");
            PatchConv = compilation.GetTypeByMetadataName("Fusion.PatchConv");
            Conv2d = compilation.GetTypeByMetadataName("Fusion.Conv2d");
            BatchNorm2d = compilation.GetTypeByMetadataName("Fusion.BatchNorm2d");
            Parameter = compilation.GetTypeByMetadataName("Fusion.Parameter");
            ShapeAttribute = compilation.GetTypeByMetadataName("Fusion.ShapeAttribute");
            KeyAttribute = compilation.GetTypeByMetadataName("Fusion.KeyAttribute");
        }

        public INamedTypeSymbol? Tensor { get; }
        public INamedTypeSymbol? Operators { get; }
        public INamedTypeSymbol? Module { get; }
        public INamedTypeSymbol? Linear { get; }
        public INamedTypeSymbol? LayerNorm { get; }
        public INamedTypeSymbol? RmsNorm { get; }
        public INamedTypeSymbol? PatchConv { get; }
        public INamedTypeSymbol? Conv2d { get; }
        public INamedTypeSymbol? BatchNorm2d { get; }
        public INamedTypeSymbol? Parameter { get; }
        public INamedTypeSymbol? ShapeAttribute { get; }
        public INamedTypeSymbol? KeyAttribute { get; }

        public bool IsTensor(ITypeSymbol? type) => Is(type, Tensor);

        public bool IsModule(ITypeSymbol? type)
        {
            for (var t = type as INamedTypeSymbol; t is not null; t = t.BaseType)
            {
                if (Is(t, Module)) return true;
            }
            return false;
        }

        /// <summary>A built-in layer: Linear, LayerNorm, RmsNorm, PatchConv, Conv2d, BatchNorm2d or a raw Parameter.</summary>
        public bool IsLayer(ITypeSymbol? type) =>
            Is(type, Linear) || Is(type, LayerNorm) || Is(type, RmsNorm) || Is(type, PatchConv) || Is(type, Conv2d) || Is(type, BatchNorm2d) || Is(type, Parameter);

        public static bool Is(ITypeSymbol? type, INamedTypeSymbol? known) =>
            type is not null && known is not null && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, known);
    }
}
