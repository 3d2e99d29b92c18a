import CPaneKernels
import Dispatch

/// Single-thread throughput of the three GEMM kernels on shapes of Pane's layers, for
/// `pane bench --floor`: the best GMAC/s over a few shapes, each the fastest of `repeats` runs
/// on the calling thread (the CPU path in effect). Operands are synthetic (the rate does not
/// depend on the values).
public struct KernelRates: Sendable {
    public let int8: Double, int16: Double, fp32: Double

    public static func measure(repeats: Int = 5) -> KernelRates {
        // (m, n, k): g_a's 64 → 64 5×5 convolution on a 96×64 output, its 64 → 192 one on 48×32,
        // the 1/16-resolution attention's q/k/v linear (192 → 576); the entropy path's paired first
        // slice layers (3×3 over 240 channels) and the hyper synthesis' last layer (3×3, 96 → 384).
        let int8 = [(64, 6144, 1600), (192, 1536, 1600), (576, 1536, 192)].map { rate($0, repeats, runInt8) }.max()!
        let int16 = [(112, 1536, 2160), (384, 1536, 864)].map { rate($0, repeats, runInt16) }.max()!
        let fp32 = [(64, 6144, 1600), (192, 1536, 1600)].map { rate($0, repeats, runFloat) }.max()!
        return KernelRates(int8: int8, int16: int16, fp32: fp32)
    }

    /// GMAC/s of the fastest of `repeats` runs of `run(m, n, k)` (which returns its seconds).
    private static func rate(_ shape: (Int, Int, Int), _ repeats: Int, _ run: (Int, Int, Int) -> Double) -> Double {
        let (m, n, k) = shape
        let best = (0..<max(1, repeats)).map { _ in run(m, n, k) }.min()!
        return Double(m * n * k) / best / 1e9
    }

    private static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private static func runInt8(_ m: Int, _ n: Int, _ k: Int) -> Double {
        let lda = (k + 3) / 4 * 4
        let a = [Int8](unsafeUninitializedCapacity: m * lda) { b, c in
            for i in 0..<(m * lda) { b[i] = Int8(truncatingIfNeeded: i * 7 % 255 - 127) }
            c = m * lda
        }
        let b = [UInt8](unsafeUninitializedCapacity: k * n) { b, c in
            for i in 0..<(k * n) { b[i] = UInt8(truncatingIfNeeded: i * 13) }
            c = k * n
        }
        var out = [Float](repeating: 0, count: m * n)
        let correction = [Int32](repeating: 0, count: m), scale = [Float](repeating: 1e-3, count: m)
        let bias = [Float](repeating: 0, count: m)
        return seconds {
            pane_igemm_dequantize(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(n), &out, Int32(n),
                                  correction, scale, bias)
        }
    }

    private static func runInt16(_ m: Int, _ n: Int, _ k: Int) -> Double {
        let lda = (k + 1) / 2 * 2
        let a = (0..<(m * lda)).map { Int16($0 * 7 % 511 - 255) }
        let b = (0..<(k * n)).map { Int16($0 * 13 % 4001 - 2000) }
        var out = [Int64](repeating: 0, count: m * n)
        return seconds { pane_wgemm_narrow(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(n), &out, Int32(n)) }
    }

    private static func runFloat(_ m: Int, _ n: Int, _ k: Int) -> Double {
        let a = (0..<(m * k)).map { Float($0 % 17) * 0.01 }
        let b = (0..<(k * n)).map { Float($0 % 23) * 0.01 }
        var out = [Float](repeating: 0, count: m * n)
        return seconds { pane_sgemm(Int32(m), Int32(n), Int32(k), a, Int32(k), b, Int32(n), &out, Int32(n)) }
    }
}
