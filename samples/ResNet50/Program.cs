using Fusion.Imaging;
using Fusion.Samples;
using ResNetSample.Model;

// Runs ResNet-50 through the compiled forward pass: see samples/Shared/SampleRunner.cs and --help.
return SampleRunner.Run(args, new SampleDefinition(
    Name: "ResNet50",
    Models: new Dictionary<string, Func<Fusion.IFusedModel>> { ["resnet-50"] = () => new ResNet50() },
    ModelHelp: "",
    WeightsHelp: "torchvision's resnet50 state dict (num_batches_tracked and other extra tensors are ignored)",
    RandomWeights: ResNetSample.RandomWeights.Initialize,
    // torchvision's eval transform for resnet50 (IMAGENET1K_V1): shorter side 256, centre crop 224, ImageNet mean and std.
    // Fusion.Imaging resizes with bicubic where torchvision uses bilinear: the same crop, slightly different pixels.
    Transform: ImageTransformOptions.Default,
    TransformHelp: "torchvision's eval transform for ResNet-50: resize 256 (bicubic here, bilinear in torchvision), crop 224, ImageNet mean and std",
    FeatureMaps: new HashSet<string>()));
