using Fusion.Imaging;

namespace Fusion.Samples;

/// <summary>
/// What makes one sample program different from another (samples/SwinTiny, samples/ViT): its name, the models it can run (the
/// first is the default), how random weights are drawn, how images are preprocessed, and the help text for each. The rest —
/// options, device choice, weight loading, timing, the printed report — is <see cref="SampleRunner"/>'s.
/// </summary>
/// <param name="Models">Model names (the --model values) and how to make each; one entry means no --model option.</param>
/// <param name="FeatureMaps">Models whose output is a feature map, printed as a digest instead of top-5 classes.</param>
internal sealed record SampleDefinition(
    string Name,
    IReadOnlyDictionary<string, Func<IFusedModel>> Models,
    string ModelHelp,
    string WeightsHelp,
    Action<IFusedModel, int> RandomWeights,
    ImageTransformOptions Transform,
    string TransformHelp,
    IReadOnlySet<string> FeatureMaps);
