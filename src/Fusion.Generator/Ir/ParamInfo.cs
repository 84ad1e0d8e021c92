using Fusion.Generator.Model;

namespace Fusion.Generator.Ir
{
    /// <summary>A learned tensor: its state-dict key, the C# path that reaches it from the root, and its shape.</summary>
    internal sealed record ParamInfo(string Key, string AccessPath, EquatableArray<int> Shape)
    {
        public long ElementCount
        {
            get
            {
                long n = 1;
                foreach (var d in Shape) n *= d;
                return n;
            }
        }
    }
}
