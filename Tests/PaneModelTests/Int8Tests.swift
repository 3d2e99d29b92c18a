import CPaneKernels
import Foundation
import Testing
import PaneImageIO
@testable import PaneKernels
import PaneMetrics
@testable import Pane
@testable import PaneModel

/// The int8 convolutions and attention Linears (Training/quantize.py): kernels agree on every CPU path, layers
/// compute exact accumulators, the exported model matches PyTorch and loads strictly.
@Suite(.serialized) struct Int8Tests {
    static let model = Repo.root.appendingPathComponent("Models/pane-int8.json")
    static let fixtures = Repo.fixtures.appendingPathComponent("int8")
    static let network: PaneNetwork = try! PaneNetwork(manifestURL: model)

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 29)
        }
    }

    /// Runs body on each path this CPU has (scalar always; AVX2 and VNNI where present).
    func onEveryPath(_ body: (CPUPath) -> Void) -> [CPUPath] {
        defer { CPUPath.clearForced() }
        var ran: [CPUPath] = []
        for path in [CPUPath.scalar, .avx2, .vnni] where CPUPath.force(path) == path {
            body(path)
            ran.append(path)
        }
        return ran
    }

    /// pane_igemm on every path equals a plain Int64 product, including the extremes
    /// (weights ±127 against inputs 255 over long sums) and odd m, n, k.
    @Test(arguments: [(64, 1000, 75), (7, 37, 13), (1600, 50, 64), (3, 16, 4), (13, 3, 1), (2, 40, 4000)])
    func integerGEMMIsExactOnEveryPath(m: Int, n: Int, k: Int) {
        var rng = Generator(state: UInt64(m * 131 + n * 7 + k))
        let stride = (k + 3) / 4 * 4
        var a = [Int8](repeating: 0, count: m * stride)
        for i in 0..<m { for p in 0..<k { a[i * stride + p] = Int8.random(in: -127...127, using: &rng) } }
        var b = (0..<(k * n)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        if k == 4000 {  // the largest sums: every product 127 · 255 or −127 · 255
            for i in 0..<m { for p in 0..<k { a[i * stride + p] = i == 0 ? 127 : -127 } }
            b = [UInt8](repeating: 255, count: k * n)
        }
        var exact = [Int64](repeating: 0, count: m * n)
        for i in 0..<m { for p in 0..<k { for j in 0..<n { exact[i * n + j] += Int64(a[i * stride + p]) * Int64(b[p * n + j]) } } }
        let ran = onEveryPath { path in
            var c = [Int32](repeating: -1, count: m * n)
            pane_igemm(Int32(m), Int32(n), Int32(k), a, Int32(stride), b, Int32(n), &c, Int32(n))
            #expect(c.map { Int64($0) } == exact, "path \(path), m\(m) n\(n) k\(k)")
        }
        #expect(ran.contains(.scalar))
        if m == 64 { print("int8 GEMM checked on: \(ran.map(\.rawValue).joined(separator: ", "))") }
    }

    /// The activation codes: every path gives the reference's bytes, ties rounded to even, out of
    /// range clamped, NaN to 0, over lengths that leave vector tails.
    @Test func activationCodesAgreeOnEveryPath() {
        var rng = Generator(state: 99)
        var x = (0..<1003).map { _ in Float.random(in: -40...300, using: &rng) }
        x += [0.5, 1.5, 2.5, -0.5, 254.5, 255.5, .nan, .infinity, -.infinity, 1e30, -1e30, 127.49999]
        for n in [x.count, 31, 32, 33, 1] {
            var reference = [UInt8](repeating: 7, count: n)
            pane_quantize_u8_reference(x, n, 1, 0, &reference)
            #expect(Array(reference.suffix(12)) == (n == x.count ? [0, 2, 2, 0, 254, 255, 0, 255, 0, 255, 0, 127] : Array(reference.suffix(12))))
            _ = onEveryPath { path in
                var fast = [UInt8](repeating: 9, count: n)
                pane_quantize_u8(x, n, 1, 0, &fast)
                #expect(fast == reference, "path \(path), n \(n)")
            }
        }
        var scaled = [UInt8](repeating: 0, count: 3)
        pane_quantize_u8_reference([0.25, -0.75, 10], 3, 2, 100, &scaled)  // 0.5 → 0, −1.5 → −2, 20
        #expect(scaled == [100, 98, 120])
    }

    /// Σ w_q · (x_q − zero) computed directly from the definition.
    func directAccumulators(_ x: Tensor, weight: [Int8], input: InputQuantization, cin: Int, cout: Int,
                            k: Int, s: Int, p: Int, op: Int, transposed: Bool) -> [Int32] {
        let h = x.height, w = x.width
        var q = [Int32](repeating: 0, count: x.data.count)
        for c in 0..<cin {
            for i in 0..<(h * w) {
                let v = (x.data[c * h * w + i] * (1 / input.inScale[c])).rounded(.toNearestOrEven) + Float(input.zero[c])
                q[c * h * w + i] = Int32(min(max(v, 0), 255)) - input.zero[c]
            }
        }
        if transposed {
            let oh = (h - 1) * s - 2 * p + k + op, ow = (w - 1) * s - 2 * p + k + op
            var out = [Int32](repeating: 0, count: cout * oh * ow)
            for ci in 0..<cin { for co in 0..<cout { for ky in 0..<k { for kx in 0..<k {
                let wv = Int32(weight[((ci * cout + co) * k + ky) * k + kx])
                for iy in 0..<h { for ix in 0..<w {
                    let oy = iy * s - p + ky, ox = ix * s - p + kx
                    if oy >= 0 && oy < oh && ox >= 0 && ox < ow { out[(co * oh + oy) * ow + ox] += wv * q[(ci * h + iy) * w + ix] }
                } }
            } } } }
            return out
        }
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        var out = [Int32](repeating: 0, count: cout * oh * ow)
        for co in 0..<cout { for oy in 0..<oh { for ox in 0..<ow {
            var sum: Int32 = 0
            for ci in 0..<cin { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * s - p + ky, ix = ox * s - p + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    sum += Int32(weight[((co * cin + ci) * k + ky) * k + kx]) * q[(ci * h + iy) * w + ix]
                }
            } } }
            out[(co * oh + oy) * ow + ox] = sum
        } } }
        return out
    }

    /// The layers (im2col with zero-point padding, col2im, corrections) give the exact sums on
    /// every path, on sizes down to 1×1 where most taps fall outside the image.
    @Test(arguments: [(1, 1), (2, 3), (5, 4), (9, 13), (8, 7), (3, 40)])
    func layersComputeExactAccumulators(height: Int, width: Int) {
        var rng = Generator(state: UInt64(height * 31 + width))
        let cin = 5, cout = 6, k = 5, s = 2, p = 2
        let x = Tensor(channels: cin, height: height, width: width,
                       data: (0..<(cin * height * width)).map { _ in Float.random(in: -3...3, using: &rng) })
        let input = InputQuantization(inScale: (0..<cin).map { _ in Float.random(in: 0.01...0.03, using: &rng) },
                                      zero: (0..<cin).map { _ in Int32.random(in: 0...255, using: &rng) })
        let weight = (0..<(cin * cout * k * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
        let bias = [Float](repeating: 0.5, count: cout), scale = [Float](repeating: 0.25, count: cout)
        let conv = Conv2DInt8(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: p,
                              weight: weight, outScale: scale, bias: bias, input: input)
        let deconv = Deconv2DInt8(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: p, outputPadding: 1,
                                  weight: weight, outScale: scale, bias: bias, input: input)
        let convExact = directAccumulators(x, weight: weight, input: input, cin: cin, cout: cout, k: k, s: s, p: p, op: 0,
                                           transposed: false)
        let deconvExact = directAccumulators(x, weight: weight, input: input, cin: cin, cout: cout, k: k, s: s, p: p, op: 1,
                                             transposed: true)
        _ = onEveryPath { path in
            #expect(conv.accumulators(x) == convExact, "conv, path \(path), \(height)×\(width)")
            #expect(deconv.accumulators(x) == deconvExact, "deconv, path \(path), \(height)×\(width)")
        }
        let y = conv(x)
        #expect(y.data == convExact.map { Float($0) * 0.25 + 0.5 })
    }

    /// The dequantizing GEMM epilogue gives exactly `Float(acc) · scale + bias` on every path:
    /// a conv whose 600-term sums span several K blocks (kept as int32 in the output between
    /// blocks), a Linear, both with column counts that leave partial 32-wide strips.
    @Test func fusedDequantizationMatchesTheAccumulatorsOnEveryPath() {
        var rng = Generator(state: 7)
        let cin = 24, cout = 13, k = 5, h = 9, w = 37
        let x = Tensor(channels: cin, height: h, width: w,
                       data: (0..<(cin * h * w)).map { _ in Float.random(in: -3...3, using: &rng) })
        let input = InputQuantization(inScale: (0..<cin).map { _ in Float.random(in: 0.01...0.03, using: &rng) },
                                      zero: (0..<cin).map { _ in Int32.random(in: 0...255, using: &rng) })
        let weight = (0..<(cin * cout * k * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
        let scale = (0..<cout).map { _ in Float.random(in: 1e-4...1e-2, using: &rng) }
        let bias = (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) }
        let conv = Conv2DInt8(inChannels: cin, outChannels: cout, kernel: k, stride: 1, padding: 2,
                              weight: weight, outScale: scale, bias: bias, input: input)
        let linear = PointwiseLinearInt8(inChannels: cin, outChannels: cout, weight: Array(weight.prefix(cin * cout)),
                                         outScale: scale, bias: bias, input: input)
        let plane = h * w
        func dequantized(_ acc: [Int32]) -> [Float] {
            acc.indices.map { i in Float(acc[i]) * scale[i / plane] + bias[i / plane] }
        }
        let ran = onEveryPath { path in
            #expect(conv(x).data == dequantized(conv.accumulators(x)), "conv, path \(path)")
            #expect(linear(x).data == dequantized(linear.accumulators(x)), "linear, path \(path)")
        }
        #expect(ran.contains(.scalar))
    }

    // MARK: the exported int8 model against PyTorch

    struct Digest: Decodable { let shape: [Int]; let sum: Int64; let sha256: String }
    struct Meta: Decodable { let model_sha256: String; let accumulators: [String: Digest] }

    static let meta = try! JSONDecoder().decode(Meta.self, from: Data(contentsOf: fixtures.appendingPathComponent("parity.json")))
    static let fixture = try! SafeTensors(contentsOf: fixtures.appendingPathComponent("parity.safetensors"))

    func tensor(_ name: String) throws -> Tensor {
        let (shape, values) = try Self.fixture.floats(name)
        return Tensor(channels: shape[0], height: shape[1], width: shape[2], data: values)
    }

    @Test func fixturesMatchTheInt8Model() {
        #expect(Self.meta.model_sha256 == Self.network.manifest.sha256,
                "int8 fixtures were made for another model: rerun Training/quantize.py --export")
    }

    func layer(_ name: String) -> Layer? {
        let parts = name.split(separator: ".")
        let seq = parts[0] == "g_a" ? Self.network.g_a : Self.network.g_s
        return seq.layers[Int(parts[1])!]
    }

    /// The exact sums of the int8 layer `name` (g_a.2, g_a.4.blocks.1.fc1, …) on input x.
    func accumulators(_ name: String, _ x: Tensor) -> [Int32]? {
        let parts = name.split(separator: ".").map(String.init)
        switch layer(name) {
        case let .convInt8(c)?: return c.accumulators(x)
        case let .deconvInt8(d)?: return d.accumulators(x)
        case let .attention(blocks)?:
            let block = blocks[Int(parts[3])!]
            let linear: ChannelLinear
            switch parts[4...].joined(separator: ".") {
            case "attn.qkv": linear = block.qkv
            case "attn.proj": linear = block.proj
            case "fc1": linear = block.fc1
            default: linear = block.fc2
            }
            if case let .int8(l) = linear { return l.accumulators(x) }
            return nil
        default: return nil
        }
    }

    /// Fed PyTorch's fp32 input, every int8 layer computes PyTorch's accumulators bit for bit:
    /// the five convolutions and the four Linears of two attention blocks.
    @Test func accumulatorsMatchPyTorchExactly() throws {
        #expect(Self.meta.accumulators.count == 13)
        for (name, digest) in Self.meta.accumulators.sorted(by: { $0.key < $1.key }) {
            guard let acc = accumulators(name, try tensor("\(name).input")) else {
                Issue.record("\(name) is not an int8 layer in the model")
                continue
            }
            #expect(acc.count == digest.shape.reduce(1, *), "\(name): size")
            #expect(acc.reduce(Int64(0)) { $0 + Int64($1) } == digest.sum, "\(name): sum")
            let bytes = acc.withUnsafeBytes { Array($0) }  // little-endian on every platform Pane runs on
            #expect(SHA256.hex(bytes) == digest.sha256, "\(name): accumulators differ from PyTorch")
        }
    }

    /// max |swift − torch| ≤ `maxRelative` · max |torch| and mean |swift − torch| ≤ `meanRelative` · max |torch|.
    func expectClose(_ actual: Tensor, _ expected: Tensor, _ what: String, maxRelative: Float, meanRelative: Float) {
        #expect(actual.data.count == expected.data.count, "\(what): shape")
        let errors = zip(actual.data, expected.data).map { abs($0 - $1) }
        let worst = errors.max() ?? .infinity, mean = errors.reduce(0, +) / Float(max(1, errors.count))
        print("\(what): max error \(worst), mean \(mean), max |ref| \(expected.maxAbs)")
        #expect(worst <= maxRelative * expected.maxAbs, "\(what): max error \(worst) against max |ref| \(expected.maxAbs)")
        #expect(mean <= meanRelative * expected.maxAbs, "\(what): mean error \(mean) against max |ref| \(expected.maxAbs)")
    }

    /// Whole transforms: the fp32 layers between the int8 ones (LayerNorm, GELU, softmax, GDN) sum
    /// in another order than PyTorch, which can move an activation code by one step, and that
    /// step then propagates: so a bound on the worst element and a tighter one on the mean.
    @Test func transformsMatchPyTorch() throws {
        expectClose(Self.network.g_a(try tensor("x")), try tensor("y"), "g_a", maxRelative: 1e-2, meanRelative: 3e-4)
        expectClose(Self.network.g_s(try tensor("g_s.input")), try tensor("x_hat"), "g_s", maxRelative: 1e-2, meanRelative: 3e-4)
    }

    /// A 256×192 crop of the bundled Kodak sample (a natural photo, unlike the tiny synthetic fixture).
    static func sampleCrop() throws -> Image {
        let full = try Image(contentsOfFile: Repo.root.appendingPathComponent("Samples/kodim23.png").path)
        let (w, h, left, top) = (256, 192, 256, 128)
        var pixels: [UInt8] = []
        for y in top..<(top + h) {
            let start = (y * full.width + left) * full.channels
            pixels += full.pixels[start..<(start + w * full.channels)]
        }
        return Image(width: w, height: h, channels: full.channels, pixels: pixels)
    }

    /// The int8 model codes a photo within 0.1 dB and 3% of the fp32 model's size (Kodak, the
    /// likelihood estimate: −0.01 dB; Training/quantize.py).
    @Test func int8ModelRoundTripsCloseToFP32() throws {
        let image = try Self.sampleCrop()
        let int8 = Codec(network: Self.network), fp32 = Conformance.codec
        for quality in [20.0, 80.0] {
            let a = try int8.encode(image, quality: quality), b = try fp32.encode(image, quality: quality)
            let psnrInt8 = try psnr(image, try int8.decode(a.bytes)), psnrFP32 = try psnr(image, try fp32.decode(b.bytes))
            print("int8 q\(quality): \(psnrInt8) dB \(a.bytes.count) B; fp32 \(psnrFP32) dB \(b.bytes.count) B")
            #expect(abs(psnrInt8 - psnrFP32) <= 0.1, "q\(quality): \(psnrInt8) dB against \(psnrFP32) dB")
            #expect(abs(Double(a.bytes.count) / Double(b.bytes.count) - 1) <= 0.03, "q\(quality): \(a.bytes.count) against \(b.bytes.count) bytes")
        }
    }

    /// A stream of the int8 model decodes to the same latents on every CPU path (the entropy
    /// path is integer), and to images within 2 levels (the fp32 layers between the int8 ones
    /// may round an activation code differently).
    @Test func int8StreamsDecodeAlikeOnEveryPath() throws {
        let codec = Codec(network: Self.network)
        let bytes = try codec.encode(try Self.sampleCrop(), quality: 60).bytes
        var decoded: [(CPUPath, Codec.Latents, Image)] = []
        _ = onEveryPath { path in
            if let latents = try? codec.decodeLatents(bytes), let image = try? codec.decode(bytes) {
                decoded.append((path, latents, image))
            }
        }
        #expect(decoded.count >= 2)
        for (path, latents, image) in decoded.dropFirst() {
            #expect(latents.yHat == decoded[0].1.yHat && latents.zHat == decoded[0].1.zHat, "latents differ on \(path)")
            #expect(Conformance.maxDifference(image, decoded[0].2) <= 2, "images differ on \(path)")
        }
    }

    // MARK: strict loading

    /// Loading the edited int8 model fails with an invalidField error naming `key`.
    func expectRefused(_ key: String, _ edit: (inout [String: (String, [Int], [UInt8])]) -> Void) throws {
        var scratch = try ModelLoadingTests.Scratch(model: Self.model)
        try scratch.editTensors(edit)
        do {
            _ = try scratch.load()
            Issue.record("an int8 model with a bad \(key) loaded")
        } catch let error as ModelError {
            guard case let .invalidField(field, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(field.hasSuffix(key), "\(error)")
        }
    }

    @Test func weightOfMinus128IsRefused() throws {
        try expectRefused("weight_q") { t in
            var (dtype, shape, bytes) = t["g_a.2.weight_q"]!
            bytes[7] = 0x80
            t["g_a.2.weight_q"] = (dtype, shape, bytes)
        }
    }

    @Test func zeroPointOutOfRangeIsRefused() throws {
        try expectRefused("zero") { t in
            var (dtype, shape, bytes) = t["g_s.6.zero"]!
            bytes[0...3] = [0, 1, 0, 0]  // 256
            t["g_s.6.zero"] = (dtype, shape, bytes)
        }
    }

    @Test func nonPositiveInputScaleIsRefused() throws {
        try expectRefused("in_scale") { t in
            var (dtype, shape, bytes) = t["g_a.5.in_scale"]!
            bytes[4...7] = [0, 0, 0, 0]
            t["g_a.5.in_scale"] = (dtype, shape, bytes)
        }
    }
}
