using ConvNeXtSample.Model;
using Fusion.Imaging;
using Fusion.Samples;

// Runs ConvNeXt-T through the compiled forward pass: see samples/Shared/SampleRunner.cs and --help.
return SampleRunner.Run(args, new SampleDefinition(
    Name: "ConvNeXtTiny",
    Models: new Dictionary<string, Func<Fusion.IFusedModel>> { ["convnext-t"] = () => new ConvNeXtTiny() },
    ModelHelp: "",
    WeightsHelp: "timm's convnext_tiny state dict",
    RandomWeights: ConvNeXtSample.RandomWeights.Initialize,
    // timm's config for convnext_tiny.fb_in1k (ImageNet-1k weights): crop fraction 0.875 (256 then 224), bicubic, ImageNet mean
    // and std: the defaults. (convnext_tiny.in12k_ft_in1k is evaluated at 0.95.)
    Transform: ImageTransformOptions.Default,
    TransformHelp: "timm's eval transform for ConvNeXt-T: crop fraction 0.875, ImageNet mean and std",
    FeatureMaps: new HashSet<string>()));
