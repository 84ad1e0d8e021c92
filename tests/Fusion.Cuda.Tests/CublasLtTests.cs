namespace Fusion.Cuda.Tests;

/// <summary>
/// FP16 GEMM with fp32 accumulation and fused epilogues against a float64 CPU reference of the
/// same fp16 inputs. Tolerance: |gpu − ref| ≤ 4e-3 + 1e-3·|ref|: the relative term is one fp16 ulp
/// (2⁻¹⁰), since the output is rounded to fp16 and the epilogue may round its input too (seen on an
/// H100: GELU 8.9375 against 8.9451, one ulp at that size); the absolute term covers accumulation
/// order over K ≤ 128 with inputs uniform in [−1, 1].
/// </summary>
public sealed class CublasLtTests : GpuTestBase
{
    private const double Atol = 4e-3, Rtol = 1e-3;

    public static TheoryData<MatmulEpilogue, int, int, int> Cases()
    {
        var data = new TheoryData<MatmulEpilogue, int, int, int>();
        foreach (var e in Enum.GetValues<MatmulEpilogue>())
        {
            data.Add(e, 64, 96, 128);   // multiples of 8
            data.Add(e, 37, 45, 29);    // none of M, N, K a multiple of 8
            data.Add(e, 1, 7, 3);
            data.Add(e, 301, 129, 97);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LinearMatchesCpu(MatmulEpilogue epilogue, int m, int n, int k)
    {
        Half[] x = TestData.RandomHalves(Rng, m * k), w = TestData.RandomHalves(Rng, n * k), b = TestData.RandomHalves(Rng, n);
        using var lt = new CublasLt(Device);
        using CudaTensor dx = Upload(x, m, k), dw = Upload(w, n, k), db = Upload(b, n), dy = CudaTensor.Empty(Device, DType.Float16, m, n);
        dy.FillBytes(0xFF);
        lt.Linear(dx, dw, epilogue == MatmulEpilogue.None ? null : db, dy, epilogue);
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double acc = 0;
                for (int p = 0; p < k; p++) acc += (double)x[i * k + p] * (double)w[j * k + p];
                if (epilogue != MatmulEpilogue.None) acc += (double)b[j];
                expected[i * n + j] = epilogue switch
                {
                    MatmulEpilogue.ReluBias => Math.Max(0, acc),
                    MatmulEpilogue.GeluBias => GeluTanh(acc),
                    _ => acc,
                };
            }
        }
        TestData.AssertClose(Download(dy), expected, Atol, Rtol, $"{epilogue} M={m} N={n} K={k}");
    }

    /// <summary>
    /// Fast-run may run any algorithm of the heuristic's list (<see cref="CublasLt.Candidates"/>): each one the heuristic offers gives the
    /// reference within the same tolerance (the relative term one fp16 ulp of the result; K = 1536 at M = 49 is where split-K forms are
    /// offered), and an index past the list is refused with its length.
    /// </summary>
    [Theory]
    [InlineData(MatmulEpilogue.GeluBias, 49, 768, 1536)]
    [InlineData(MatmulEpilogue.Bias, 301, 129, 97)]
    [InlineData(MatmulEpilogue.None, 1000, 96, 384)]
    public void EveryOfferedAlgorithmMatchesCpu(MatmulEpilogue epilogue, int m, int n, int k)
    {
        Half[] x = TestData.RandomHalves(Rng, m * k), w = TestData.RandomHalves(Rng, n * k), b = TestData.RandomHalves(Rng, n);
        using var lt = new CublasLt(Device, candidates: 16);
        using CudaTensor dx = Upload(x, m, k), dw = Upload(w, n, k), db = Upload(b, n), dy = CudaTensor.Empty(Device, DType.Float16, m, n);
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double acc = epilogue == MatmulEpilogue.None ? 0 : (double)b[j];
                for (int p = 0; p < k; p++) acc += (double)x[i * k + p] * (double)w[j * k + p];
                expected[i * n + j] = epilogue == MatmulEpilogue.GeluBias ? GeluTanh(acc) : acc;
            }
        var bias = epilogue == MatmulEpilogue.None ? null : db;
        dy.FillBytes(0xFF);
        lt.Linear(dx, dw, bias, dy, epilogue);
        int offered = CublasLt.LastAlgorithmCount;
        Assert.InRange(offered, 1, lt.Candidates);
        for (int algorithm = 0; algorithm < offered; algorithm++)
        {
            dy.FillBytes(0xFF);
            lt.Linear(dx, dw, bias, dy, epilogue, algorithm: algorithm);
            TestData.AssertClose(Download(dy), expected, Atol, Rtol, $"{epilogue} M={m} N={n} K={k}, algorithm {algorithm} of {offered}");
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => lt.Linear(dx, dw, bias, dy, epilogue, algorithm: offered));
        Assert.Contains($"offers {offered} algorithm", e.Message);
    }

    /// <summary>Plans are kept per shape: a second call of the same shape with other operands and another bias uses that call's bias.</summary>
    [Fact]
    public void KeptPlanUsesEachCallsOwnBias()
    {
        const int m = 37, n = 45, k = 29;
        using var lt = new CublasLt(Device);
        foreach (var round in new[] { 1, 2, 3 })
        {
            Half[] x = TestData.RandomHalves(Rng, m * k), w = TestData.RandomHalves(Rng, n * k), b = TestData.RandomHalves(Rng, n);
            using CudaTensor dx = Upload(x, m, k), dw = Upload(w, n, k), db = Upload(b, n), dy = CudaTensor.Empty(Device, DType.Float16, m, n);
            dy.FillBytes(0xFF);
            lt.Linear(dx, dw, db, dy, MatmulEpilogue.Bias);
            var expected = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double acc = (double)b[j];
                    for (int p = 0; p < k; p++) acc += (double)x[i * k + p] * (double)w[j * k + p];
                    expected[i * n + j] = acc;
                }
            TestData.AssertClose(Download(dy), expected, Atol, Rtol, $"round {round}");
        }
    }

    [Fact]
    public void BiasEpilogueWithoutBiasIsRejected()
    {
        using var lt = new CublasLt(Device);
        using CudaTensor x = CudaTensor.Empty(Device, DType.Float16, 4, 8), w = CudaTensor.Empty(Device, DType.Float16, 8, 8), y = CudaTensor.Empty(Device, DType.Float16, 4, 8);
        Assert.Throws<ArgumentNullException>(() => lt.Linear(x, w, null, y, MatmulEpilogue.Bias));
    }

    /// <summary>cuBLASLt's GELU epilogue uses the tanh approximation.</summary>
    private static double GeluTanh(double v) => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
}
