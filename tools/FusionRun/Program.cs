return Fusion.Run.FusionRunApp.Run(args, Console.Out, Console.Error);
