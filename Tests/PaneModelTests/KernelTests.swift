import Foundation
import Dispatch
import Testing
import CPaneKernels
@testable import PaneKernels

/// Every fast path against its scalar reference (STYLE.md rule 4).
@Suite(.serialized) struct KernelTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    /// Every path against the reference, and the 512-bit path bit-identical to the AVX2 one (each
    /// element is the same FMA chain in k order): strips of 32 and 16 columns and leftovers, row
    /// tiles of 12, 6, 4 and 1, k across the K blocks.
    @Test(arguments: [(1, 1, 1), (3, 17, 5), (4, 16, 75), (7, 33, 64), (64, 130, 1600), (96, 48, 9), (13, 70, 300)])
    func sgemmMatchesReference(m: Int, n: Int, k: Int) {
        var rng = Generator(state: UInt64(m * 1000 + n * 10 + k))
        let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &rng) }
        let c0 = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &rng) }
        var reference = c0
        pane_sgemm_reference(Int32(m), Int32(n), Int32(k), a, Int32(k), b, Int32(n), &reference, Int32(n))
        defer { CPUPath.clearForced() }
        var results: [CPUPath: [Float]] = [:]
        for path in [CPUPath.scalar, .avx2, .vnni] where CPUPath.force(path) == path {
            var fast = c0
            pane_sgemm(Int32(m), Int32(n), Int32(k), a, Int32(k), b, Int32(n), &fast, Int32(n))
            results[path] = fast
            // Threads get column ranges; a column's bits must not depend on where a range starts
            // (which strip, or the leftover loop, takes it).
            if path != .scalar && n > 5 {
                var split = c0
                pane_sgemm(Int32(m), 5, Int32(k), a, Int32(k), b, Int32(n), &split, Int32(n))
                split.withUnsafeMutableBufferPointer { sp in
                    b.withUnsafeBufferPointer { bp in
                        pane_sgemm(Int32(m), Int32(n - 5), Int32(k), a, Int32(k), bp.baseAddress! + 5, Int32(n),
                                   sp.baseAddress! + 5, Int32(n))
                    }
                }
                #expect(split == fast, "path \(path): columns differ when the range starts at column 5")
            }
            // Summation order differs (FMA): allow a few ulps of the accumulated magnitude.
            let tolerance = Float(k).squareRoot() * 1e-6 * 4
            for i in 0..<(m * n) {
                #expect(abs(reference[i] - fast[i]) <= tolerance, "path \(path), m\(m) n\(n) k\(k) at \(i)")
            }
        }
        if let wide = results[.vnni], let narrow = results[.avx2] {
            #expect(wide == narrow, "the 512-bit and AVX2 paths differ")
        }
    }

    /// The exact int16 GEMM against int64 sums on every path: odd k (the padded pair), k past
    /// the 256-term int32 blocks, partial column strips, and operands at the int16 extremes (the
    /// worst case of every block's int32 sum). Narrow: A within ±255 (pane_wgemm_narrow, one pass
    /// without splitting B), rows of 12, 4 and 1 (its tiles).
    @Test(arguments: [(5, 19, 1513), (64, 1536, 168), (3, 7, 9), (6, 33, 777), (13, 40, 600)], [false, true])
    func integerGEMMIsExactOnEveryPath(shape: (Int, Int, Int), narrow: Bool) {
        let (m, n, k) = shape
        var rng = Generator(state: UInt64(m * 7 + n * 3 + k))
        let lda = (k + 1) & ~1
        var a = [Int16](repeating: 0, count: m * lda)
        var b = [Int16](repeating: 0, count: k * n)
        let top: Int16 = narrow ? 255 : 32767
        for i in 0..<m {
            for p in 0..<k {
                // Row 0 all at +top and row 1 all at −top against B at its extremes: the largest sums.
                a[i * lda + p] = i == 0 ? top : i == 1 ? -top : Int16.random(in: -top...top, using: &rng)
            }
        }
        for p in 0..<k {
            for j in 0..<n {
                b[p * n + j] = j == 0 ? 32767 : j == 1 ? -32768 : j == 2 ? 255 : Int16.random(in: .min ... .max, using: &rng)
            }
        }
        var exact = [Int64](repeating: 0, count: m * n)
        for i in 0..<m { for p in 0..<k { for j in 0..<n { exact[i * n + j] += Int64(a[i * lda + p]) * Int64(b[p * n + j]) } } }
        defer { CPUPath.clearForced() }
        var tested: [CPUPath] = []
        for path in [CPUPath.scalar, .avx2, .vnni] where CPUPath.force(path) == path {
            tested.append(path)
            var c = [Int64](repeating: -1, count: m * n)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        exactIntegerGEMM(m: m, n: n, k: k, ap.baseAddress!, lda: lda, bp.baseAddress!, ldb: n, cp.baseAddress!,
                                         ldc: n, narrow: narrow)
                    }
                }
            }
            #expect(c == exact, "path \(path), m\(m) n\(n) k\(k), narrow \(narrow)")
        }
        #expect(tested.first == .scalar)
    }

    /// The AVX2 GELU (A&S erf + vector exp) against libm's erff: within 1e-6 · max(1, |x|) over a
    /// dense sweep of [−12, 12], odd lengths (vector tail) and values where erf saturates.
    @Test func geluMatchesReference() {
        var x = (0..<24_001).map { Float($0 - 12_000) / 1000 } + [0, -0, 1e-8, -1e-8, 30, -30, 80, -80, 1e6, -1e6]
        var reference = x
        pane_gelu_reference(&reference, reference.count)
        pane_gelu(&x, x.count)
        let worst = zip(x, reference).map { abs($0 - $1) / max(1, abs($1)) }.max()!
        #expect(worst <= 1e-6, "largest relative difference \(worst) on the \(CPUPath.current) path")
        #expect(abs(x[24_001 + 5]) < 1e-30)  // GELU(−30) underflows to 0
        #expect(x.allSatisfy { $0 == 0 || abs($0) >= Float.leastNormalMagnitude }, "a subnormal GELU output")
    }

    /// GDN's squares and x / √norm, x · √norm, and the residual add: single IEEE operations, so
    /// the vector paths must equal the scalar references bit for bit (lengths with a vector tail).
    @Test(arguments: [1, 7, 8, 1_037])
    func gdnPassesAndAddEqualReferenceBitForBit(n: Int) {
        defer { CPUPath.clearForced() }
        CPUPath.force(.avx2)   // the vector path wherever the CPU has it (else both are the reference)
        var rng = Generator(state: UInt64(n))
        let x = (0..<n).map { _ in Float.random(in: -40...40, using: &rng) }
        let norm = (0..<n).map { _ in Float.random(in: 1e-6...900, using: &rng) }
        var fast = [Float](repeating: 0, count: n), reference = fast
        pane_square(x, n, &fast)
        pane_square_reference(x, n, &reference)
        #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern))
        #expect(fast[0] == x[0] * x[0])
        for inverse in [Int32(0), 1] {
            pane_gdn_apply(x, norm, n, inverse, &fast)
            pane_gdn_apply_reference(x, norm, n, inverse, &reference)
            #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern))
            #expect(fast[n - 1] == (inverse == 1 ? x[n - 1] * norm[n - 1].squareRoot() : x[n - 1] / norm[n - 1].squareRoot()))
        }
        var sum = x, sumReference = x
        pane_add(&sum, norm, n)
        pane_add_reference(&sumReference, norm, n)
        #expect(sum.map(\.bitPattern) == sumReference.map(\.bitPattern))
        #expect(sum[n / 2] == x[n / 2] + norm[n / 2])
    }

    /// LayerNorm over channels (AVX2, 8 pixels a vector) against its scalar reference, bit for bit,
    /// as floats and as int8 codes; the codes equal pane_quantize_u8 of the floats; a pixel range
    /// that starts off a multiple of 8 and ends in a scalar tail; spot check against the formula.
    @Test(arguments: [(64, 96, 0, 96), (192, 40, 3, 29), (16, 11, 0, 11)])
    func layerNormEqualsReferenceBitForBit(channels: Int, plane: Int, start: Int, n: Int) {
        defer { CPUPath.clearForced() }
        var rng = Generator(state: UInt64(channels * plane))
        let x = (0..<(channels * plane)).map { _ in Float.random(in: -30...30, using: &rng) }
        let weight = (0..<channels).map { _ in Float.random(in: 0.2...2, using: &rng) }
        let bias = (0..<channels).map { _ in Float.random(in: -1...1, using: &rng) }
        let inverse = (0..<channels).map { _ in 1 / Float.random(in: 0.005...0.05, using: &rng) }
        let zero = (0..<channels).map { _ in Float(Int.random(in: 0...255, using: &rng)) }
        var results: [[Float]] = [], codes: [[UInt8]] = []
        for path in [CPUPath.scalar, .avx2, .vnni] where CPUPath.force(path) == path {
            var out = [Float](repeating: .nan, count: x.count), q = [UInt8](repeating: 7, count: x.count)
            pane_layer_norm(x, plane, Int32(channels), start, n, weight, bias, 1e-5, &out, nil, nil, nil)
            pane_layer_norm(x, plane, Int32(channels), start, n, weight, bias, 1e-5, nil, &q, inverse, zero)
            results.append(out); codes.append(q)
            for c in [0, channels - 1] {   // outside [start, start + n) nothing is written
                #expect(start == 0 || (out[c * plane].isNaN && q[c * plane] == 7))
                let row = Array(out[(c * plane + start)..<(c * plane + start + n)])
                var expected = [UInt8](repeating: 0, count: n)
                pane_quantize_u8_reference(row, n, inverse[c], zero[c], &expected)
                #expect(Array(q[(c * plane + start)..<(c * plane + start + n)]) == expected)
            }
        }
        #expect(results.count >= 2, "this CPU has no AVX2: only the reference was tested")
        for i in results.indices.dropFirst() {
            #expect(results[0].map(\.bitPattern) == results[i].map(\.bitPattern))
            #expect(codes[0] == codes[i])
        }
        let p = start + n - 1
        let column = (0..<channels).map { Double(x[$0 * plane + p]) }
        let mean = column.reduce(0, +) / Double(channels)
        let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(channels)
        let expected = (column[1] - mean) / (variance + 1e-5).squareRoot() * Double(weight[1]) + Double(bias[1])
        #expect(abs(Double(results[0][plane + p]) - expected) <= 1e-5 * max(1, abs(expected)))
    }

    /// GELU and the int8 codes in one pass: the same bytes as pane_gelu then pane_quantize_u8 on
    /// each path (lengths with vector, 8-wide and scalar tails).
    @Test(arguments: [8, 32, 1_000, 1_037])
    func geluCodesEqualGELUThenQuantize(n: Int) {
        defer { CPUPath.clearForced() }
        var rng = Generator(state: UInt64(n) + 99)
        let x = (0..<n).map { _ in Float.random(in: -6...6, using: &rng) }
        for path in [CPUPath.scalar, .avx2, .vnni] where CPUPath.force(path) == path {
            var g = x, separate = [UInt8](repeating: 0, count: n), fused = separate
            pane_gelu(&g, n)
            pane_quantize_u8(g, n, 41.5, 17, &separate)
            pane_gelu_quantize_u8(x, n, 41.5, 17, &fused)
            #expect(fused == separate, "\(path)")
            #expect(Set(fused).count >= min(n / 3, 100), "codes span the range")
        }
    }

    /// The 16-lane (VNNI-path) softmax, GELU, GELU codes and activation codes give the 8-lane
    /// (AVX2) path's bits: the same operations per lane, the softmax sums in the same order (rows
    /// of 64 and 48 columns, and 40, which the 16-lane path hands to the 8-lane one).
    @Test func wideElementwisePathsEqualTheAVX2PathBitForBit() {
        defer { CPUPath.clearForced() }
        guard CPUPath.force(.vnni) == .vnni else { return }   // no AVX-512 here: nothing to compare
        var rng = Generator(state: 7)
        let n = 1_037
        let x = (0..<n).map { _ in Float.random(in: -12...12, using: &rng) }
        func run(_ path: CPUPath) -> (softmax: [[Float]], gelu: [Float], gq: [UInt8], q: [UInt8]) {
            CPUPath.force(path)
            var rows: [[Float]] = []
            for cols in [64, 48, 40] {
                var s = Array(x.prefix(6 * cols)).map { $0 * 3 }
                s[5] = -200   // a masked score: its weight is floored to 0
                pane_softmax_rows(&s, 6, Int32(cols))
                rows.append(s)
            }
            var g = x, gq = [UInt8](repeating: 0, count: n), q = gq
            pane_gelu(&g, n)
            pane_gelu_quantize_u8(x, n, 23.5, 40, &gq)
            pane_quantize_u8(x, n, 9.25, 128, &q)
            return (rows, g, gq, q)
        }
        let wide = run(.vnni), narrow = run(.avx2)
        for (a, b) in zip(wide.softmax, narrow.softmax) { #expect(a.map(\.bitPattern) == b.map(\.bitPattern)) }
        #expect(wide.gelu.map(\.bitPattern) == narrow.gelu.map(\.bitPattern))
        #expect(wide.gq == narrow.gq && wide.q == narrow.q)
        #expect(wide.softmax[0][5] == 0 && abs(wide.softmax[0][0..<64].reduce(0, +) - 1) < 1e-5)
    }

    /// Window gathers and the scatter against their references, bit for bit: an 8×8 window at the
    /// map's corner, unshifted (every row consecutive: whole-vector loads, with and without a
    /// channel tail past a multiple of 8) and rolled by a shift (rows wrapping: gathered lanes), a
    /// 4-wide window (two rows a group of 8 tokens, gathered), and the scatter undoing the token
    /// gather.
    @Test(arguments: [(64, 8, 0), (20, 8, 0), (20, 8, 5), (64, 8, 7), (24, 4, 2), (192, 4, 0), (36, 4, 3)])
    func windowMovesEqualReference(channels: Int, window: Int, shift: Int) {
        defer { CPUPath.clearForced() }
        CPUPath.force(.avx2)   // the vector path wherever the CPU has it (else both are the reference)
        let h = 24, w = 32, plane = h * w, t = window * window
        var rng = Generator(state: UInt64(channels * 31 + shift))
        let src = (0..<(channels * plane)).map { _ in Float.random(in: -3...3, using: &rng) }
        // The window at the map's bottom-right corner, rolled by `shift` as a shifted Swin block does.
        let y0 = h - window, x0 = w - window
        let pixel = (0..<t).map { n in Int32(((y0 + n / window + shift) % h) * w + (x0 + n % window + shift) % w) }
        let ld = channels + 3
        var fast = [Float](repeating: 0, count: t * ld), reference = fast
        pane_window_gather_tokens(src, plane, Int32(channels), pixel, Int32(t), Int32(window), 0.37, &fast, Int32(ld))
        pane_window_gather_tokens_reference(src, plane, Int32(channels), pixel, Int32(t), Int32(window), 0.37, &reference, Int32(ld))
        #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern))
        #expect(fast[ld + 1] == src[plane + Int(pixel[1])] * 0.37)
        var columns = [Float](repeating: 0, count: channels * t), columnsReference = columns
        pane_window_gather_channels(src, plane, Int32(channels), pixel, Int32(t), Int32(window), &columns)
        pane_window_gather_channels_reference(src, plane, Int32(channels), pixel, Int32(t), Int32(window), &columnsReference)
        #expect(columns == columnsReference)
        #expect(columns[2 * t + t - 1] == src[2 * plane + Int(pixel[t - 1])])
        pane_window_gather_tokens(src, plane, Int32(channels), pixel, Int32(t), Int32(window), 1, &fast, Int32(ld))
        var back = [Float](repeating: .nan, count: channels * plane), backReference = back
        pane_window_scatter_tokens(fast, Int32(ld), Int32(channels), pixel, Int32(t), Int32(window), &back, plane)
        pane_window_scatter_tokens_reference(fast, Int32(ld), Int32(channels), pixel, Int32(t), Int32(window), &backReference, plane)
        #expect(back.map(\.bitPattern) == backReference.map(\.bitPattern))
        for c in 0..<channels {
            for p in pixel { #expect(back[c * plane + Int(p)] == src[c * plane + Int(p)]) }
        }
    }

    /// The AVX2 softmax against libm's expf, for window sizes 16 and 64 (and a 9-wide row, which
    /// takes the reference), with a masked entry (−100) as shifted windows have.
    @Test(arguments: [(16, 16), (64, 64), (5, 9)])
    func softmaxMatchesReference(rows: Int, cols: Int) {
        var rng = Generator(state: UInt64(rows * cols))
        var s = (0..<(rows * cols)).map { _ in Float.random(in: -8...8, using: &rng) }
        s[cols / 2] -= 100
        var reference = s
        pane_softmax_rows_reference(&reference, Int32(rows), Int32(cols))
        pane_softmax_rows(&s, Int32(rows), Int32(cols))
        #expect(zip(s, reference).allSatisfy { abs($0 - $1) <= 1e-6 })
        for r in 0..<rows {
            #expect(abs(s[(r * cols)..<((r + 1) * cols)].reduce(0, +) - 1) < 1e-5)
        }
        // The masked score's weight is exactly 0 on both paths, and no weight is subnormal
        // (subnormals cost microcode assists in the attention GEMM that follows).
        #expect(s[cols / 2] == 0 && reference[cols / 2] == 0)
        #expect((s + reference).allSatisfy { $0 == 0 || $0 >= 1e-20 })
    }

    /// The path on a thread of its own (no forced path).
    func pathOnAnotherThread() -> CPUPath {
        nonisolated(unsafe) var seen = CPUPath.scalar   // written by the thread, read after done
        let done = DispatchSemaphore(value: 0)
        Thread { seen = CPUPath.current; done.signal() }.start()
        done.wait()
        return seen
    }

    /// Forcing a path is per thread (a test comparing paths does not change what concurrently
    /// running tests compute) and reaches the workers of Parallel.forEach.
    @Test func forcedPathIsPerThreadAndReachesWorkers() {
        defer { CPUPath.clearForced() }
        let unforced = pathOnAnotherThread()
        CPUPath.force(.scalar)
        var seen = [CPUPath](repeating: .vnni, count: 16)
        seen.withUnsafeMutableBufferPointer { s in Parallel.forEach(16) { s[$0] = CPUPath.current } }
        #expect(seen.allSatisfy { $0 == .scalar })
        #expect(pathOnAnotherThread() == unforced)
    }

    @Test func forcingScalarPathWorks() {
        let before = CPUPath.current
        #expect(CPUPath.force(.scalar) == .scalar)
        #expect(CPUPath.current == .scalar)
        CPUPath.clearForced()
        #expect(CPUPath.current == before)
    }

    /// A transposed convolution is the adjoint of the convolution with the same weights:
    /// <conv(x), y> = <x, deconv(y)> without bias. Cases: 3 output channels (Deconv2D's `direct`
    /// path), 12 (the phases' GEMMs), and a 1×1 kernel with stride 2 (phases without taps).
    @Test(arguments: [(3, 4, 5, 2), (12, 6, 5, 2), (3, 4, 1, 0)])
    func deconvIsAdjointOfConv(cin: Int, cout: Int, k: Int, p: Int) {
        var rng = Generator(state: UInt64(7 + cin))
        let weight = (0..<(cout * cin * k * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: 2, padding: p,
                          weight: weight, bias: [Float](repeating: 0, count: cout))
        // ConvTranspose2d weight layout is in × out × k × k with in = conv's out.
        let deconv = Deconv2D(inChannels: cout, outChannels: cin, kernel: k, stride: 2, padding: p, outputPadding: 1,
                              weight: weight, bias: [Float](repeating: 0, count: cin))
        let x = Tensor(channels: cin, height: 12, width: 8, data: (0..<(cin * 96)).map { _ in Float.random(in: -1...1, using: &rng) })
        let y = Tensor(channels: cout, height: 6, width: 4, data: (0..<(cout * 24)).map { _ in Float.random(in: -1...1, using: &rng) })
        let cx = conv(x), dy = deconv(y)
        #expect(cx.height == 6 && cx.width == 4 && dy.height == 12 && dy.width == 8)
        let lhs = zip(cx.data, y.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs = zip(x.data, dy.data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        #expect(abs(lhs - rhs) <= 1e-3 * max(1, abs(lhs)))
    }

    /// Im2colChannel against a plain loop over every tap: kernels 1–5, every padding below the
    /// kernel, strides 1–3, widths and heights 1–9, the output rows in one band and in bands of 2
    /// (where later bands may read only padding).
    @Test func im2colMatchesPlainLoop() {
        for k in 1...5 { for p in 0..<k { for s in 1...3 { for (h, w) in [(1, 1), (2, 5), (7, 4), (9, 9), (4, 8)] {
            let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
            guard oh > 0 && ow > 0 else { continue }
            let plane = (0..<(h * w)).map { Int16($0 + 1) }, pad: Int16 = -7
            for bandRows in [oh, 2] {
                var oy0 = 0
                while oy0 < oh {
                    let band = min(bandRows, oh - oy0), n = band * ow
                    let im = Im2colChannel<Int16>(height: h, width: w, kernel: k, stride: s, padding: p,
                                                  firstOutputRow: oy0, band: band, outWidth: ow)
                    var rows = [Int16](repeating: 0, count: k * k * n)
                    var halves = [Int16](repeating: 0, count: max(1, im.halvesCount))
                    plane.withUnsafeBufferPointer { src in
                        halves.withUnsafeMutableBufferPointer { hv in
                            rows.withUnsafeMutableBufferPointer { out in
                                im.write(src.baseAddress!, pad: pad, halves: im.halvesCount > 0 ? hv.baseAddress! : nil,
                                         into: out.baseAddress!, rowStride: n)
                            }
                        }
                    }
                    var expected = [Int16](repeating: 0, count: k * k * n)
                    for ky in 0..<k { for kx in 0..<k { for by in 0..<band { for ox in 0..<ow {
                        let iy = (oy0 + by) * s - p + ky, ix = ox * s - p + kx
                        expected[(ky * k + kx) * n + by * ow + ox] = iy >= 0 && iy < h && ix >= 0 && ix < w ? plane[iy * w + ix] : pad
                    } } } }
                    #expect(rows == expected, "k\(k) p\(p) s\(s) \(h)×\(w) rows \(oy0)..<\(oy0 + band)")
                    oy0 += band
                }
            }
        } } } }
    }

    /// Stride-2 convolutions (im2col from the even and odd halves of each input row) equal the
    /// direct sum, on odd and tiny sizes where most taps fall outside the image.
    @Test(arguments: [(1, 1, 5), (5, 4, 5), (9, 13, 5), (3, 40, 3), (8, 7, 3)])
    func stridedConvolutionMatchesDirectSum(height: Int, width: Int, k: Int) {
        var rng = Generator(state: UInt64(height * 41 + width * 3 + k))
        let cin = 3, cout = 4, p = k / 2
        let weight = (0..<(cout * cin * k * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let bias = (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) }
        let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: 2, padding: p, weight: weight, bias: bias)
        let x = Tensor(channels: cin, height: height, width: width,
                       data: (0..<(cin * height * width)).map { _ in Float.random(in: -1...1, using: &rng) })
        let y = conv(x)
        let (oh, ow) = conv.outputSize(height: height, width: width)
        #expect(y.height == oh && y.width == ow)
        for co in 0..<cout { for oy in 0..<oh { for ox in 0..<ow {
            var sum = Double(bias[co])
            for ci in 0..<cin { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * 2 - p + ky, ix = ox * 2 - p + kx
                if iy >= 0 && iy < height && ix >= 0 && ix < width {
                    sum += Double(weight[((co * cin + ci) * k + ky) * k + kx]) * Double(x.data[(ci * height + iy) * width + ix])
                }
            } } }
            #expect(abs(Double(y.data[(co * oh + oy) * ow + ox]) - sum) <= 1e-4, "\(height)×\(width) k\(k) at \(co),\(oy),\(ox)")
        } } }
    }

    /// A 3×3 convolution of a known image, checked against hand-computed values.
    @Test func convolutionKnownValues() {
        // One channel 3×3 ramp, kernel of ones, padding 1, stride 1: each output is the sum of its neighbourhood.
        let x = Tensor(channels: 1, height: 3, width: 3, data: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let conv = Conv2D(inChannels: 1, outChannels: 1, kernel: 3, stride: 1, padding: 1,
                          weight: [Float](repeating: 1, count: 9), bias: [0.5])
        #expect(conv(x).data == [12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5])
    }
}
