System.Console.WriteLine("SwinTiny sample: being written");
