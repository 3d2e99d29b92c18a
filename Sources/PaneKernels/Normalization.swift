import CPaneKernels
import Foundation

/// Generalized divisive normalization (Ballé, Laparra & Simoncelli 2016):
/// y_i = x_i / sqrt(β_i + Σ_j γ_ij x_j²); the inverse (IGDN) multiplies instead.
public struct GDN: Sendable {
    public let channels: Int
    public let inverse: Bool
    public let beta: [Float]
    /// `channels × channels`, row i holds γ_i·.
    public let gamma: [Float]

    public init(channels: Int, inverse: Bool, beta: [Float], gamma: [Float]) {
        precondition(beta.count == channels && gamma.count == channels * channels)
        self.channels = channels; self.inverse = inverse; self.beta = beta; self.gamma = gamma
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.channels == channels)
        let plane = x.planeSize, c = channels
        // Strips of `strip` pixels, each done start to finish while it is in cache: squares,
        // norm = β + γ·x² (β first, then the GEMM adds γ·x²: every sum in the same order as one
        // big GEMM would take), then x·√norm or x/√norm straight into the output. One read of x
        // and one write of y, instead of five passes over full-resolution planes.
        let strip = 256
        var out = [Float].scratch(count: x.data.count)
        let parts = Parallel.ranges((plane + strip - 1) / strip, grain: 1)
        x.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                gamma.withUnsafeBufferPointer { g in
                    Parallel.forEach(parts.count) { part in
                        let squares = UnsafeMutablePointer<Float>.allocate(capacity: 2 * c * strip)
                        defer { squares.deallocate() }
                        let norm = squares + c * strip
                        for s in parts[part] {
                            let j0 = s * strip, n = min(strip, plane - j0)
                            for ch in 0..<c {
                                let row = src.baseAddress! + ch * plane + j0
                                pane_square(row, n, squares + ch * n)
                                (norm + ch * n).update(repeating: beta[ch], count: n)
                            }
                            pane_sgemm(Int32(c), Int32(n), Int32(c), g.baseAddress!, Int32(c), squares, Int32(n), norm, Int32(n))
                            for ch in 0..<c {
                                let row = src.baseAddress! + ch * plane + j0, o = dst.baseAddress! + ch * plane + j0
                                pane_gdn_apply(row, norm + ch * n, n, inverse ? 1 : 0, o)
                            }
                        }
                    }
                }
            }
        }
        return Tensor(channels: c, height: x.height, width: x.width, data: out)
    }
}

/// LayerNorm over the channels of every pixel (PyTorch `LayerNorm(dim)` on NHWC tokens).
public struct ChannelLayerNorm: Sendable {
    public let channels: Int
    public let weight: [Float], bias: [Float]
    public let epsilon: Float

    public init(channels: Int, weight: [Float], bias: [Float], epsilon: Float) {
        precondition(weight.count == channels && bias.count == channels)
        self.channels = channels; self.weight = weight; self.bias = bias; self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var out = [Float].scratch(count: x.data.count)
        out.withUnsafeMutableBufferPointer { o in run(x, out: o.baseAddress, codes: nil, quantization: nil) }
        return Tensor(channels: x.channels, height: x.height, width: x.width, data: out)
    }

    /// The int8 activation codes of the normalized map for a layer reading it through `input`
    /// (the bytes `input.codes(self(x))` gives, without the float map in between).
    public func codes(_ x: Tensor, for input: InputQuantization) -> [UInt8] {
        precondition(input.inScale.count == channels)
        var q = [UInt8].scratch(count: x.data.count)
        q.withUnsafeMutableBufferPointer { o in run(x, out: nil, codes: o.baseAddress, quantization: input) }
        return q
    }

    /// Pixels are independent: threads take contiguous runs of them, each pixel summed over the
    /// channels in the same order whatever the split (pane_layer_norm).
    private func run(_ x: Tensor, out: UnsafeMutablePointer<Float>?, codes: UnsafeMutablePointer<UInt8>?,
                     quantization: InputQuantization?) {
        precondition(x.channels == channels)
        let plane = x.planeSize
        let chunks = Parallel.ranges(plane, grain: 1 << 10)
        let zero = quantization.map { $0.zero.map(Float.init) } ?? []
        let inverse = quantization?.inverse ?? []
        x.data.withUnsafeBufferPointer { src in
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    inverse.withUnsafeBufferPointer { inv in
                        zero.withUnsafeBufferPointer { z in
                            Parallel.forEach(chunks.count) { part in
                                let r = chunks[part]
                                guard !r.isEmpty else { return }
                                pane_layer_norm(src.baseAddress!, plane, Int32(channels), r.lowerBound, r.count,
                                                w.baseAddress!, b.baseAddress!, epsilon, out, codes,
                                                quantization == nil ? nil : inv.baseAddress,
                                                quantization == nil ? nil : z.baseAddress)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Element-wise activations.
public enum Activation {
    public static func relu(_ x: consuming Tensor) -> Tensor {
        var out = x
        out.data.withUnsafeMutableBufferPointer { o in
            for i in 0..<o.count where o[i] < 0 { o[i] = 0 }
        }
        return out
    }

    /// GELU with the exact error function (PyTorch's default).
    public static func gelu(_ x: consuming Tensor) -> Tensor {
        var out = x
        out.data.withUnsafeMutableBufferPointer { o in
            guard let base = o.baseAddress else { return }
            // Parts start on multiples of 8, so which formula (vector body or scalar tail) an
            // element gets does not depend on the thread count.
            let blocks = Parallel.ranges((o.count + 7) / 8, grain: 1 << 11)
            Parallel.forEach(blocks.count) { p in
                let start = blocks[p].lowerBound * 8, end = min(o.count, blocks[p].upperBound * 8)
                pane_gelu(base + start, end - start)
            }
        }
        return out
    }
}
