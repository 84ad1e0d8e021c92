using Fusion.Imaging;
using Fusion.Samples;
using SwinTiny.Model;

// Runs Swin-T (or its first two blocks) through the compiled forward pass: see samples/Shared/SampleRunner.cs and --help.
return SampleRunner.Run(args, new SampleDefinition(
    Name: "SwinTiny",
    Models: new Dictionary<string, Func<Fusion.IFusedModel>>
    {
        ["swin-t"] = () => new SwinTransformerTiny(),
        ["swin-t-accurate"] = () => new SwinTinyInt8Accurate(),
        ["swin-t-views"] = () => new SwinTinyViewsInEpilogue(),
        ["blocks"] = () => new SwinStage1Blocks(),
    },
    ModelHelp: "swin-t: the whole Swin-T classifier (default); swin-t-accurate: the same, whose int8 plan keeps fc2, the patch merging reductions and the head fp16; swin-t-views: the same, each block's output projection storing through its window reverse and shift back; blocks: the first two Swin blocks",
    WeightsHelp: "timm's swin_tiny_patch4_window7_224 state dict",
    RandomWeights: SwinTiny.RandomWeights.Initialize,
    Transform: ImageTransformOptions.Swin,
    TransformHelp: "timm's eval transform for Swin-T",
    FeatureMaps: new HashSet<string> { "blocks" }));
