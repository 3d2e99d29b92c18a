import CZlib
import Foundation
import PaneKernels

/// Pane's network in fp32: analysis and synthesis transforms with window
/// attention (Zou et al., CVPR 2022), hyperprior (Ballé et al. 2018),
/// channel-wise mean/scale slices with latent residual prediction (Minnen &
/// Singh 2020) and gain units for continuous rate (Cui et al., CVPR 2021).
/// Mirrors `Training/model.py`; sub-network names are the paper's.
public struct PaneNetwork: Sendable {
    public let manifest: Manifest
    public let g_a: Sequential, g_s: Sequential, h_a: Sequential, h_s: Sequential
    public let cc_mean: [Sequential], cc_scale: [Sequential], lrp: [Sequential]
    /// `anchors × M` log gains and log inverse gains, one row per trained λ.
    let logGain: [Float], logInverseGain: [Float]
    /// Factorized prior of ẑ: per channel the lowest symbol, the number of symbols and their pmf.
    let zOffset: [Int32], zLength: [Int32], zPMF: [Float]
    let zSpan: Int
    /// The exact integer path that feeds the entropy coder.
    public let entropyModel: IntegerEntropyModel
    /// Quantized CDF tables (16-bit) made at export: one per scale index for ŷ, one per channel for ẑ.
    public let yCDF: CDFRows, zCDF: CDFRows

    /// What the load's parallel groups build, each writing its own fields.
    private final class Parts: @unchecked Sendable {
        var g_a: Sequential?, g_s: Sequential?, h_a: Sequential?, h_s: Sequential?
        var cc_mean: [Sequential]?, cc_scale: [Sequential]?, lrp: [Sequential]?
        var entropyModel: IntegerEntropyModel?
    }

    /// Rows of integer CDFs as stored in the model file, each with its length and symbol offset.
    public struct CDFRows: Sendable {
        public let rows: [[Int32]]
        public let offsets: [Int32]
    }

    public var latentChannels: Int { manifest.config.M }
    public var anchors: Int { manifest.lambdas.count }

    /// Loads `<name>.json` and the weights it names, with every check of STYLE.md rule 13:
    /// format and version, checksum (crc32, else sha256), every tensor present with its shape, no tensor left unused.
    public init(manifestURL: URL) throws {
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw ModelError.unreadable(manifestURL.path, Self.whyUnreadable(manifestURL.path))
        }
        try self.init(manifestData: data, name: manifestURL.lastPathComponent, checkDigest: true) { weights in
            try WeightBytes(contentsOf: manifestURL.deletingLastPathComponent().appendingPathComponent(weights))
        }
    }

    /// Every sub-network chains and maps the sizes the codec relies on: g_a takes a 64 × 64 RGB
    /// tile to M × 4 × 4, g_s takes that back to 3 × 64 × 64, h_a takes it to Nz × 1 × 1 and h_s
    /// to 2M × 4 × 4, and each slice network keeps the latent's size (a stride or padding edit
    /// that leaves the network runnable but wrong is refused here, not decoded into garbage).
    static func checkGeometry(manifest: Manifest, g_a: Sequential, g_s: Sequential, h_a: Sequential, h_s: Sequential,
                              slices: ([Sequential], [Sequential], [Sequential])) throws {
        let M = manifest.config.M, nz = manifest.config.Nz, size = manifest.slices.size
        func expect(_ got: (channels: Int, height: Int, width: Int), _ want: (Int, Int, Int), _ field: String) throws {
            guard got == want else {
                throw ModelError.invalidField(field, "maps the codec's shapes to \(got.channels)×\(got.height)×\(got.width), "
                                              + "not \(want.0)×\(want.1)×\(want.2)")
            }
        }
        try expect(try g_a.outputShape(channels: 3, height: 64, width: 64, field: "g_a"), (M, 4, 4), "g_a")
        try expect(try g_s.outputShape(channels: M, height: 4, width: 4, field: "g_s"), (3, 64, 64), "g_s")
        try expect(try h_a.outputShape(channels: M, height: 4, width: 4, field: "h_a"), (nz, 1, 1), "h_a")
        try expect(try h_s.outputShape(channels: nz, height: 1, width: 1, field: "h_s"), (2 * M, 4, 4), "h_s")
        for (name, nets, extra) in [("cc_mean", slices.0, 0), ("cc_scale", slices.1, 0), ("lrp", slices.2, 1)] {
            for (i, net) in nets.enumerated() {
                let field = "slices.\(name)[\(i)]"
                try expect(try net.outputShape(channels: M + size * (i + extra), height: 4, width: 4, field: field), (size, 4, 4), field)
            }
        }
    }

    /// The system's reason a file cannot be read, in one line ("No such file or directory").
    static func whyUnreadable(_ path: String) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { return String(cString: strerror(errno)) }
        if status.st_mode & S_IFMT == S_IFDIR { return "it is a directory" }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        close(descriptor)
        return "read failed"
    }

    /// zlib's CRC-32 of `bytes` as 8 lower-case hex digits (the manifest's `crc32`): one part
    /// a kernel thread, joined with `crc32_combine` (a model file is ~20 MB, on the path of every
    /// encode and decode).
    static func crc32Hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { crc32Hex($0) }
    }

    /// `threads`: parts to checksum at once (the kernel threads; tests pass more to exercise the join).
    static func crc32Hex(_ buffer: UnsafeRawBufferPointer, threads: Int = Parallel.threads) -> String {
        let parts = buffer.count < 1 << 20 ? [0..<buffer.count]
            : (0..<threads).map { p in (buffer.count * p / threads)..<(buffer.count * (p + 1) / threads) }
        var crcs = [UInt](repeating: 0, count: parts.count)
        crcs.withUnsafeMutableBufferPointer { crcs in
            Parallel.forEach(parts.count) { p in
                var crc = crc32(0, nil, 0)
                var start = parts[p].lowerBound
                while start < parts[p].upperBound {   // zlib takes at most UInt32.max bytes a call
                    let count = min(parts[p].upperBound - start, Int(UInt32.max))
                    crc = crc32(crc, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, UInt32(count))
                    start += count
                }
                crcs[p] = crc
            }
        }
        var crc = crcs[0]
        for p in 1..<max(parts.count, 1) { crc = crc32_combine(crc, crcs[p], off_t(parts[p].count)) }
        let hex = String(UInt32(truncatingIfNeeded: crc), radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The checks of `init(manifestURL:)` on a manifest in memory; `weights` reads the file the
    /// manifest names. `checkDigest: false` skips the checksum (the model-file fuzz target, which
    /// pairs mutated manifests with fixed weights).
    public init(manifestData data: Data, name: String, checkDigest: Bool = true,
                weights: (String) throws -> [UInt8]) throws {
        try self.init(manifestData: data, name: name, checkDigest: checkDigest) { WeightBytes(try weights($0)) }
    }

    init(manifestData data: Data, name: String, checkDigest: Bool, weights: (String) throws -> WeightBytes) throws {
        struct Head: Decodable { let format: String?; let version: Int? }
        guard let head = try? JSONDecoder().decode(Head.self, from: data) else {
            throw ModelError.corrupt(name, "not a JSON object")
        }
        guard let format = head.format else { throw ModelError.missingField("format") }
        guard format == Manifest.format else { throw ModelError.wrongFormat(format) }
        guard let version = head.version else { throw ModelError.missingField("version") }
        guard version <= Manifest.supportedVersion else {
            throw ModelError.unsupportedVersion(found: version, supported: Manifest.supportedVersion)
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch let DecodingError.keyNotFound(key, ctx) {
            throw ModelError.missingField((ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))
        } catch {
            throw ModelError.corrupt(name, "manifest does not decode: \(error)")
        }
        // The sha256 is the model's identity (its first 8 bytes are the id of its streams).
        guard manifest.sha256.utf8.count == 64, manifest.sha256.utf8.allSatisfy({ $0 < 128 && Character(Unicode.Scalar($0)).isHexDigit }) else {
            throw ModelError.invalidField("sha256", "must be 64 hex digits")
        }
        let bytes = try weights(manifest.weights)
        if checkDigest {
            if let expected = manifest.crc32 {
                let actual = Self.crc32Hex(bytes.buffer)
                guard actual == expected.lowercased() else {
                    throw ModelError.checksumMismatch(expected: "crc32 " + expected, actual: "crc32 " + actual)
                }
            } else {
                let digest = SHA256.hex(Array(bytes.buffer))
                guard digest == manifest.sha256.lowercased() else {
                    throw ModelError.checksumMismatch(expected: "sha256 " + manifest.sha256, actual: "sha256 " + digest)
                }
            }
        }
        try self.init(manifest: manifest, weights: try SafeTensors(storage: bytes, source: manifest.weights))
    }

    init(manifest: Manifest, weights: SafeTensors) throws {
        self.manifest = manifest
        let store = WeightStore(weights)
        let M = manifest.config.M, K = manifest.lambdas.count
        guard K >= 2 else { throw ModelError.invalidField("lambdas", "need at least two anchors") }
        let s = manifest.slices
        guard s.count > 0, s.count * s.size == M, s.cc_mean.count == s.count, s.cc_scale.count == s.count,
              s.lrp.count == s.count else {
            throw ModelError.invalidField("slices", "\(s.count) slices of \(s.size) do not split M = \(M)")
        }
        guard manifest.entropy_int.version == 1, manifest.entropy_int.activation_max == 32767 else {
            throw ModelError.invalidField("entropy_int", "version \(manifest.entropy_int.version) is not supported")
        }
        // The sub-networks are independent: built on the kernel threads (the whole load of a
        // model is on the path of every `pane encode` and `pane decode` process), each group with
        // its own store; the stores' used tensors are joined for the leftover check below.
        let parts = Parts()
        let groups: [(WeightStore) throws -> Void] = [
            { parts.g_a = try Sequential(manifest.g_a, $0, field: "g_a") },
            { parts.g_s = try Sequential(manifest.g_s, $0, field: "g_s") },
            { store in
                parts.h_a = try Sequential(manifest.h_a, store, field: "h_a")
                parts.h_s = try Sequential(manifest.h_s, store, field: "h_s")
            },
            { store in parts.cc_mean = try s.cc_mean.enumerated().map { try Sequential($1, store, field: "slices.cc_mean[\($0)]") } },
            { store in parts.cc_scale = try s.cc_scale.enumerated().map { try Sequential($1, store, field: "slices.cc_scale[\($0)]") } },
            { store in parts.lrp = try s.lrp.enumerated().map { try Sequential($1, store, field: "slices.lrp[\($0)]") } },
            { store in
                parts.entropyModel = try IntegerEntropyModel(manifest.entropy_int, config: manifest.config, slices: s,
                                                             scaleLevels: manifest.scale_table.levels, store: store)
            },
        ]
        let stores = groups.map { _ in WeightStore(weights) }
        var failures = [Error?](repeating: nil, count: groups.count)
        let runs = Parallel.ranges(groups.count, grain: 1)   // at most one run of groups a thread
        failures.withUnsafeMutableBufferPointer { failures in
            Parallel.forEach(runs.count) { run in
                for i in runs[run] {
                    do { try groups[i](stores[i]) } catch { failures[i] = error }
                }
            }
        }
        if let first = failures.compactMap({ $0 }).first { throw first }  // in group order: the same error every run
        for other in stores { store.markUsed(other.used) }
        g_a = parts.g_a!; g_s = parts.g_s!; h_a = parts.h_a!; h_s = parts.h_s!
        cc_mean = parts.cc_mean!; cc_scale = parts.cc_scale!; lrp = parts.lrp!
        try Self.checkGeometry(manifest: manifest, g_a: g_a, g_s: g_s, h_a: h_a, h_s: h_s,
                               slices: (cc_mean, cc_scale, lrp))
        logGain = try store.floats("log_gain", [K, M])
        logInverseGain = try store.floats("log_inv_gain", [K, M])
        let nz = manifest.config.Nz
        zOffset = try store.ints("entropyBottleneck.offset", [nz]).values
        zLength = try store.ints("entropyBottleneck.length", [nz]).values
        let pmf = try store.floatsAnyShape("entropyBottleneck.pmf")
        guard pmf.shape.count == 2, pmf.shape[0] == nz, zLength.allSatisfy({ $0 > 0 && Int($0) <= pmf.shape[1] }) else {
            throw ModelError.shapeMismatch("entropyBottleneck.pmf", expected: [nz, Int(zLength.max() ?? 0)], actual: pmf.shape)
        }
        zPMF = pmf.values
        zSpan = pmf.shape[1]
        entropyModel = parts.entropyModel!
        func cdfRows(_ name: String, count: Int) throws -> CDFRows {
            let table = try store.ints("\(name).cdf", nil)
            guard table.shape.count == 2, table.shape[0] == count else {
                throw ModelError.shapeMismatch("\(name).cdf", expected: [count, table.shape.last ?? 0], actual: table.shape)
            }
            let lengths = try store.ints("\(name).length", [count]).values
            let offsets = try store.ints("\(name).offset", [count]).values
            let width = table.shape[1]
            let rows = try (0..<count).map { r -> [Int32] in
                let n = Int(lengths[r])
                guard n >= 3, n <= width else { throw ModelError.invalidField("\(name).length", "row \(r) has length \(n)") }
                return Array(table.values[(r * width)..<(r * width + n)])
            }
            return CDFRows(rows: rows, offsets: offsets)
        }
        yCDF = try cdfRows("entropy.y", count: manifest.scale_table.levels)
        zCDF = try cdfRows("entropy.z", count: nz)
        try store.checkAllUsed()
    }

    /// Gain and inverse gain for `quality` ∈ [0, 100]: exponential interpolation
    /// between neighbouring λ anchors (quality 0 → first anchor, 100 → last).
    public func gains(quality: Double) -> (gain: [Float], inverse: [Float]) {
        let q = min(max(quality, 0), 100)
        let position = q / 100 * Double(anchors - 1)
        let k = min(max(Int(position.rounded(.down)), 0), anchors - 2)
        let frac = Float(position - Double(k))
        let M = latentChannels
        var gain = [Float](repeating: 0, count: M), inverse = [Float](repeating: 0, count: M)
        for c in 0..<M {
            gain[c] = expf(logGain[k * M + c] * (1 - frac) + logGain[(k + 1) * M + c] * frac)
            inverse[c] = expf(logInverseGain[k * M + c] * (1 - frac) + logInverseGain[(k + 1) * M + c] * frac)
        }
        return (gain, inverse)
    }

    /// Multiplies every channel plane by its factor.
    public static func scaleChannels(_ x: Tensor, _ factors: [Float]) -> Tensor {
        precondition(factors.count == x.channels)
        var out = x
        let plane = x.planeSize
        out.data.withUnsafeMutableBufferPointer { o in
            for c in 0..<x.channels {
                let f = factors[c]
                for i in 0..<plane { o[c * plane + i] *= f }
            }
        }
        return out
    }

    /// The entropy parameters and reconstruction of one forward pass.
    public struct Forward: Sendable {
        public let y: Tensor, z: Tensor, zHat: Tensor, hyper: Tensor
        public let means: Tensor, scales: Tensor, yHat: Tensor, xHat: Tensor
        /// Estimated code length from the model's likelihoods (no entropy coder yet).
        public let estimatedBits: Double
    }

    /// The float inference path (no entropy coding): x in [0, 1], CHW, sides multiples of 64.
    public func forward(_ x: Tensor, quality: Double) -> Forward {
        let (gain, inverse) = gains(quality: quality)
        let y = Self.scaleChannels(g_a(x), gain)
        let z = h_a(y)
        var zHat = z
        for i in 0..<zHat.data.count { zHat.data[i] = zHat.data[i].rounded(.toNearestOrEven) }
        let hyper = h_s(zHat)
        let M = latentChannels, size = manifest.slices.size
        let hyperMean = hyper.channels(0..<M), hyperScale = hyper.channels(M..<(2 * M))
        var previous: [Tensor] = [], means: [Tensor] = [], scales: [Tensor] = []
        var bits = zBits(zHat)
        for i in 0..<manifest.slices.count {
            let yi = y.channels((i * size)..<((i + 1) * size))
            let mu = cc_mean[i](Tensor.concatenate([hyperMean] + previous))
            let sigma = cc_scale[i](Tensor.concatenate([hyperScale] + previous))
            var yHat = yi
            for j in 0..<yHat.data.count {
                yHat.data[j] = (yi.data[j] - mu.data[j]).rounded(.toNearestOrEven) + mu.data[j]
            }
            bits += Self.gaussianBits(yHat, mu, sigma, scaleMin: manifest.scale_table.min)
            let residual = lrp[i](Tensor.concatenate([hyperMean] + previous + [yHat]))
            for j in 0..<yHat.data.count { yHat.data[j] += 0.5 * tanhf(residual.data[j]) }
            previous.append(yHat)
            means.append(mu)
            scales.append(sigma)
        }
        let yHat = Tensor.concatenate(previous)
        let xHat = g_s(Self.scaleChannels(yHat, inverse))
        return Forward(y: y, z: z, zHat: zHat, hyper: hyper, means: .concatenate(means), scales: .concatenate(scales),
                       yHat: yHat, xHat: xHat, estimatedBits: bits)
    }

    /// −log2 of the discretized Gaussian likelihood of each quantized value.
    static func gaussianBits(_ yHat: Tensor, _ mean: Tensor, _ scale: Tensor, scaleMin: Float) -> Double {
        var bits = 0.0
        for i in 0..<yHat.data.count {
            let s = Double(max(scale.data[i], scaleMin))
            let v = abs(Double(yHat.data[i] - mean.data[i]))
            let p = 0.5 * erfc(-((0.5 - v) / s) / 2.0.squareRoot()) - 0.5 * erfc(-((-0.5 - v) / s) / 2.0.squareRoot())
            bits -= log2(max(p, 1e-9))
        }
        return bits
    }

    /// −log2 of the factorized prior's pmf of ẑ (values outside the table: the likelihood floor).
    func zBits(_ zHat: Tensor) -> Double {
        var bits = 0.0
        let plane = zHat.planeSize
        for c in 0..<zHat.channels {
            for i in 0..<plane {
                let symbol = Int(zHat.data[c * plane + i]) - Int(zOffset[c])
                let p = symbol >= 0 && symbol < Int(zLength[c]) ? Double(zPMF[c * zSpan + symbol]) : 0
                bits -= log2(max(p, 1e-9))
            }
        }
        return bits
    }
}
