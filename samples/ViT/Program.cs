using Fusion.Imaging;
using Fusion.Samples;
using ViT.Model;

// Runs ViT-B/16 through the compiled forward pass: see samples/Shared/SampleRunner.cs and --help.
return SampleRunner.Run(args, new SampleDefinition(
    Name: "ViT",
    Models: new Dictionary<string, Func<Fusion.IFusedModel>> { ["vit-b16"] = () => new VisionTransformerBase16() },
    ModelHelp: "",
    WeightsHelp: "timm's vit_base_patch16_224 state dict",
    RandomWeights: ViT.RandomWeights.Initialize,
    Transform: ImageTransformOptions.VisionTransformer,
    TransformHelp: "timm's eval transform for ViT-B/16: crop fraction 0.9, mean and std 0.5",
    FeatureMaps: new HashSet<string>()));
