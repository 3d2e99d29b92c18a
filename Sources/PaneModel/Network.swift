import Dispatch
import PaneKernels

/// One layer of a sub-network, built from a manifest entry and its weights.
public enum Layer: Sendable {
    case conv(Conv2D)
    case deconv(Deconv2D)
    case convInt8(Conv2DInt8)
    case deconvInt8(Deconv2DInt8)
    case gdn(GDN)
    case attention([SwinBlock])
    case relu

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case let .conv(c): return c(x)
        case let .deconv(d): return d(x)
        case let .convInt8(c): return c(x)
        case let .deconvInt8(d): return d(x)
        case let .gdn(g): return g(x)
        case let .attention(blocks): return blocks.reduce(x) { $1($0) }
        case .relu: return Activation.relu(x)
        }
    }
}

/// A sequence of layers (`g_a`, `h_s`, a slice network, …).
public struct Sequential: Sendable {
    public let layers: [Layer]

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }
}

/// Hands out tensors by name with shape checks, and remembers which were used
/// so that leftover tensors are an error (STYLE.md rule 13).
final class WeightStore {
    private let file: SafeTensors
    private(set) var used: Set<String> = []

    init(_ file: SafeTensors) { self.file = file }

    func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
        let (actual, values) = try file.floats(name)
        guard actual == shape else { throw ModelError.shapeMismatch(name, expected: shape, actual: actual) }
        used.insert(name)
        return values
    }

    func ints(_ name: String, _ shape: [Int]?) throws -> (shape: [Int], values: [Int32]) {
        let (actual, values) = try file.ints(name)
        if let shape, actual != shape { throw ModelError.shapeMismatch(name, expected: shape, actual: actual) }
        used.insert(name)
        return (actual, values)
    }

    /// Integer weights stored as I16 (or, in model files before November 2026, I32, which must
    /// then fit 16 bits). −32768 is refused: every weight of the integer path is within ±32767.
    func smallInts(_ name: String, _ shape: [Int]) throws -> [Int16] {
        let actual: [Int], values: [Int16]
        switch file.entries[name]?.dtype {
        case nil: throw ModelError.missingTensor(name)
        case "I16":
            (actual, values) = try file.int16s(name)
        case "I32":
            let t = try file.ints(name)
            guard t.values.allSatisfy({ (-32767...32767).contains($0) }) else {
                throw ModelError.invalidField(name, "weights exceed int16")
            }
            (actual, values) = (t.shape, t.values.map { Int16($0) })
        case let dtype?: throw ModelError.wrongType(name, expected: "I16", actual: dtype)
        }
        guard actual == shape else { throw ModelError.shapeMismatch(name, expected: shape, actual: actual) }
        guard !values.contains(Int16.min) else { throw ModelError.invalidField(name, "weights exceed int16") }
        used.insert(name)
        return values
    }

    func int8s(_ name: String, _ shape: [Int]) throws -> [Int8] {
        let (actual, values) = try file.int8s(name)
        guard actual == shape else { throw ModelError.shapeMismatch(name, expected: shape, actual: actual) }
        used.insert(name)
        return values
    }

    func int64s(_ name: String, _ shape: [Int]) throws -> [Int64] {
        let (actual, values) = try file.int64s(name)
        guard actual == shape else { throw ModelError.shapeMismatch(name, expected: shape, actual: actual) }
        used.insert(name)
        return values
    }

    func floatsAnyShape(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let r = try file.floats(name)
        used.insert(name)
        return r
    }

    /// Counts tensors another store (over the same file) handed out as used here too.
    func markUsed(_ names: Set<String>) { used.formUnion(names) }

    func checkAllUsed() throws {
        let unused = Set(file.entries.keys).subtracting(used).sorted()
        if !unused.isEmpty { throw ModelError.unusedTensors(unused) }
    }
}

extension Sequential {
    /// The shape a `channels × height × width` input leaves with, checking that each layer takes
    /// the channels the one before it gives and that no size goes below 1.
    /// - Throws: `ModelError.invalidField(field, …)` naming the first layer that does not fit.
    func outputShape(channels: Int, height: Int, width: Int, field: String) throws -> (channels: Int, height: Int, width: Int) {
        var (c, h, w) = (channels, height, width)
        for (i, layer) in layers.enumerated() {
            func takes(_ inChannels: Int) throws {
                guard inChannels == c else {
                    throw ModelError.invalidField("\(field)[\(i)]", "takes \(inChannels) channels, the layer before gives \(c)")
                }
            }
            switch layer {
            case let .conv(l): try takes(l.inChannels); (h, w) = l.outputSize(height: h, width: w); c = l.outChannels
            case let .deconv(l): try takes(l.inChannels); (h, w) = l.outputSize(height: h, width: w); c = l.outChannels
            case let .convInt8(l): try takes(l.inChannels); (h, w) = l.outputSize(height: h, width: w); c = l.outChannels
            case let .deconvInt8(l): try takes(l.inChannels); (h, w) = l.outputSize(height: h, width: w); c = l.outChannels
            case let .gdn(g): try takes(g.channels)
            case let .attention(blocks): try takes(blocks.first?.dim ?? c)
            case .relu: break
            }
            guard h >= 1, w >= 1 else { throw ModelError.invalidField("\(field)[\(i)]", "leaves a \(h)×\(w) output") }
        }
        return (c, h, w)
    }

    init(_ specs: [Manifest.Layer], _ store: WeightStore, field: String) throws {
        layers = try specs.enumerated().map { index, spec in
            try Layer(spec, store, field: "\(field)[\(index)]")
        }
    }
}

extension Layer {
    init(_ spec: Manifest.Layer, _ store: WeightStore, field: String) throws {
        func need<T>(_ value: T?, _ key: String) throws -> T {
            guard let value else { throw ModelError.missingField("\(field).\(key)") }
            return value
        }
        func positive(_ value: Int?, _ key: String) throws -> Int {
            let v = try need(value, key)
            guard v > 0, v <= 1 << 14 else { throw ModelError.invalidField("\(field).\(key)", "\(v) is out of range") }
            return v
        }
        switch spec.type {
        case "conv", "deconv", "conv_int8", "deconv_int8":
            let name = try need(spec.name, "name")
            let cin = try positive(spec.in, "in"), cout = try positive(spec.out, "out")
            let k = try positive(spec.kernel, "kernel"), s = try positive(spec.stride, "stride")
            guard k <= 15, s <= 8 else { throw ModelError.invalidField("\(field)", "kernel \(k) / stride \(s) beyond 15 / 8") }
            let p = try need(spec.padding, "padding")
            // Pane's layers are padded "same" (PyTorch padding k // 2): any other value runs, and
            // can keep every size, but shifts the image.
            guard p == k / 2 else { throw ModelError.invalidField("\(field).padding", "\(p) for kernel \(k); must be \(k / 2)") }
            let bias = try store.floats("\(name).bias", [cout])
            if spec.type.hasSuffix("_int8") {
                self = try Layer.int8(spec, store, field: field, name: name, cin: cin, cout: cout, k: k, s: s, p: p, bias: bias)
            } else if spec.type == "conv" {
                let w = try store.floats("\(name).weight", [cout, cin, k, k])
                self = .conv(Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: p, weight: w, bias: bias))
            } else {
                let op = try need(spec.output_padding, "output_padding")
                guard op == s - 1 else { throw ModelError.invalidField("\(field).output_padding", "\(op) for stride \(s); must be \(s - 1)") }
                let w = try store.floats("\(name).weight", [cin, cout, k, k])
                self = .deconv(Deconv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: p,
                                        outputPadding: op, weight: w, bias: bias))
            }
        case "gdn", "igdn":
            let name = try need(spec.name, "name")
            let c = try positive(spec.channels, "channels")
            self = .gdn(GDN(channels: c, inverse: spec.type == "igdn",
                            beta: try store.floats("\(name).beta", [c]),
                            gamma: try store.floats("\(name).gamma", [c, c])))
        case "attention":
            let name = try need(spec.name, "name")
            let dim = try positive(spec.dim, "dim"), heads = try positive(spec.heads, "heads")
            let window = try positive(spec.window, "window"), hidden = try positive(spec.mlp_hidden, "mlp_hidden")
            let shifts = try need(spec.shifts, "shifts")
            // head_dim is absent in files written before head pruning: the heads then split dim.
            let headDim: Int
            if spec.head_dim != nil {
                headDim = try positive(spec.head_dim, "head_dim")
            } else {
                guard dim % heads == 0 else { throw ModelError.invalidField("\(field).heads", "\(heads) does not divide \(dim)") }
                headDim = dim / heads
            }
            let inner = heads * headDim
            guard shifts.allSatisfy({ $0 >= 0 && $0 < window }) else {
                throw ModelError.invalidField("\(field).shifts", "\(shifts) for window \(window)")
            }
            let eps = spec.layer_norm_eps ?? 1e-5
            let maskValue = try need(spec.mask_value, "mask_value")
            let span = 2 * window - 1
            let int8 = Set(spec.int8 ?? [])
            let known: Set = ["attn.qkv", "attn.proj", "fc1", "fc2"]
            guard int8.isSubset(of: known) else {
                throw ModelError.invalidField("\(field).int8", "\(int8.subtracting(known).sorted()) are not Linears of the block")
            }
            self = .attention(try shifts.enumerated().map { b, shift in
                let p = "\(name).blocks.\(b)"
                func norm(_ n: String) throws -> ChannelLayerNorm {
                    ChannelLayerNorm(channels: dim, weight: try store.floats("\(p).\(n).weight", [dim]),
                                     bias: try store.floats("\(p).\(n).bias", [dim]), epsilon: eps)
                }
                func linear(_ n: String, _ cin: Int, _ cout: Int) throws -> ChannelLinear {
                    let bias = try store.floats("\(p).\(n).bias", [cout])
                    guard int8.contains(n) else {
                        return .fp32(PointwiseLinear(inChannels: cin, outChannels: cout,
                                                     weight: try store.floats("\(p).\(n).weight", [cout, cin]), bias: bias))
                    }
                    let input = try Layer.inputQuantization(store, "\(p).\(n)", cin, field: "\(field).\(n)")
                    let weight = try Layer.int8Weights(store, "\(p).\(n)", [cout, cin], field: "\(field).\(n)")
                    let outScale = try store.floats("\(p).\(n).out_scale", [cout])
                    guard outScale.allSatisfy({ $0.isFinite }) else {
                        throw ModelError.invalidField("\(field).\(n).out_scale", "scales must be finite")
                    }
                    return .int8(PointwiseLinearInt8(inChannels: cin, outChannels: cout, weight: weight,
                                                     outScale: outScale, bias: bias, input: input))
                }
                return SwinBlock(dim: dim, heads: heads, headDim: headDim, window: window, shift: shift,
                                 maskValue: maskValue,
                                 norm1: try norm("norm1"), qkv: try linear("attn.qkv", dim, 3 * inner),
                                 proj: try linear("attn.proj", inner, dim),
                                 relativeBias: try store.floats("\(p).attn.relative_position_bias", [span * span, heads]),
                                 norm2: try norm("norm2"), fc1: try linear("fc1", dim, hidden),
                                 fc2: try linear("fc2", hidden, dim))
            })
        case "relu":
            self = .relu
        default:
            throw ModelError.unknownLayer(spec.type)
        }
    }
}

extension Layer {
    /// An int8 layer (Training/quantize.py): `weight_q` int8 in PyTorch's layout, `out_scale` per
    /// output channel, and the input's `in_scale` (positive, finite) and `zero` (0...255) per
    /// input channel. Weights must lie in −127...127 (the kernels' exact range assumes it).
    static func int8(_ spec: Manifest.Layer, _ store: WeightStore, field: String, name: String,
                     cin: Int, cout: Int, k: Int, s: Int, p: Int, bias: [Float]) throws -> Layer {
        let transposed = spec.type == "deconv_int8"
        let weight = try int8Weights(store, name, transposed ? [cin, cout, k, k] : [cout, cin, k, k], field: field)
        let outScale = try store.floats("\(name).out_scale", [cout])
        guard outScale.allSatisfy({ $0.isFinite }) else {
            throw ModelError.invalidField("\(field).out_scale", "scales must be finite")
        }
        let input = try inputQuantization(store, name, cin, field: field)
        if transposed {
            let op = spec.output_padding ?? -1
            guard op == s - 1 else { throw ModelError.invalidField("\(field).output_padding", "\(op) for stride \(s); must be \(s - 1)") }
            return .deconvInt8(Deconv2DInt8(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: p,
                                            outputPadding: op, weight: weight, outScale: outScale, bias: bias,
                                            input: input))
        }
        return .convInt8(Conv2DInt8(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: p,
                                    weight: weight, outScale: outScale, bias: bias, input: input))
    }

    /// `<name>.weight_q`, int8 in −127...127 (the kernels' exact range assumes it).
    static func int8Weights(_ store: WeightStore, _ name: String, _ shape: [Int], field: String) throws -> [Int8] {
        let weight = try store.int8s("\(name).weight_q", shape)
        guard !weight.contains(Int8.min) else {
            throw ModelError.invalidField("\(field).weight_q", "holds −128; int8 weights must lie in −127...127")
        }
        return weight
    }

    /// `<name>.in_scale` (positive, finite) and `<name>.zero` (0...255), one per input channel.
    static func inputQuantization(_ store: WeightStore, _ name: String, _ channels: Int, field: String) throws -> InputQuantization {
        let inScale = try store.floats("\(name).in_scale", [channels])
        let zero = try store.ints("\(name).zero", [channels]).values
        guard inScale.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ModelError.invalidField("\(field).in_scale", "input scales must be finite and positive")
        }
        guard zero.allSatisfy({ (0...255).contains($0) }) else {
            throw ModelError.invalidField("\(field).zero", "zero points must lie in 0...255")
        }
        return InputQuantization(inScale: inScale, zero: zero)
    }

    /// A short description for profiles: "conv 3→64 k5 s2", "attention ×2 dim 64 w8".
    public var summary: String {
        switch self {
        case let .conv(c): return "conv \(c.inChannels)→\(c.outChannels) k\(c.kernel) s\(c.stride)"
        case let .deconv(d): return "deconv \(d.inChannels)→\(d.outChannels) k\(d.kernel) s\(d.stride)"
        case let .convInt8(c): return "conv int8 \(c.inChannels)→\(c.outChannels) k\(c.kernel) s\(c.stride)"
        case let .deconvInt8(d): return "deconv int8 \(d.inChannels)→\(d.outChannels) k\(d.kernel) s\(d.stride)"
        case let .gdn(g): return "\(g.inverse ? "igdn" : "gdn") \(g.channels)"
        case let .attention(blocks): return "attention ×\(blocks.count) dim \(blocks.first?.dim ?? 0) w\(blocks.first?.window ?? 0)"
        case .relu: return "relu"
        }
    }
}

extension Sequential {
    /// Runs the layers on `x` and times each: (summary, output shape, milliseconds) per layer.
    public func profiled(_ x: Tensor) -> (output: Tensor, layers: [(layer: String, shape: String, ms: Double)]) {
        var times: [(String, String, Double)] = []
        var t = x
        for layer in layers {
            let start = DispatchTime.now().uptimeNanoseconds
            t = layer(t)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            times.append((layer.summary, "\(t.channels)×\(t.height)×\(t.width)", ms))
        }
        return (t, times)
    }
}
