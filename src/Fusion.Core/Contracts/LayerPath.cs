namespace Fusion.Compiler
{
    /// <summary>
    /// Layer paths as keep-lists name them ("layers.1.blocks.0.mlp.fc2", the state-dict key less its tensor name): the generator's
    /// keep-lists and the runtime's int8 sensitivity match entries against them by the same rule.
    /// </summary>
    internal static class LayerPath
    {
        /// <summary>
        /// <paramref name="path"/> is <paramref name="prefix"/> or lies below it, segment by segment ("blocks.1" is under "blocks",
        /// "blocks1" is not); a "*" segment of the prefix matches any one segment ("layers.*.mlp" covers "layers.2.mlp.fc1").
        /// </summary>
        public static bool Under(string path, string prefix)
        {
            if (path.Length == 0) return false;
            var segments = path.Split('.');
            var wanted = prefix.Split('.');
            if (wanted.Length > segments.Length) return false;
            for (int i = 0; i < wanted.Length; i++)
                if (wanted[i] != "*" && wanted[i] != segments[i]) return false;
            return true;
        }
    }
}
