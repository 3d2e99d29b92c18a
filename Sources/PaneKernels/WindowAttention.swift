import CPaneKernels
import Foundation

/// One Swin transformer block (Liu et al. 2021) on a planar feature map: windowed
/// multi-head self-attention with relative position bias, optionally on a
/// cyclically shifted map with the region mask, then an MLP; both residual.
/// The attention of Pane's `WindowAttentionBlock` (Zou et al., CVPR 2022).
public struct SwinBlock: Sendable {
    /// `dim` channels in and out; the heads span `heads · headDim` channels (`dim` unless heads
    /// were pruned).
    public let dim: Int, heads: Int, headDim: Int, window: Int, shift: Int
    public let maskValue: Float
    let norm1: ChannelLayerNorm, norm2: ChannelLayerNorm
    let qkv: ChannelLinear, proj: ChannelLinear
    let fc1: ChannelLinear, fc2: ChannelLinear
    /// Hidden width of the MLP.
    public var mlpHidden: Int { fc1.outChannels }
    /// Channels of the heads together: q, k and v each have this many.
    public var inner: Int { heads * headDim }
    /// `(2·window−1)² × heads`, PyTorch's table.
    let relativeBias: [Float]

    public init(dim: Int, heads: Int, headDim: Int, window: Int, shift: Int, maskValue: Float,
                norm1: ChannelLayerNorm, qkv: ChannelLinear, proj: ChannelLinear, relativeBias: [Float],
                norm2: ChannelLayerNorm, fc1: ChannelLinear, fc2: ChannelLinear) {
        precondition(relativeBias.count == (2 * window - 1) * (2 * window - 1) * heads)
        precondition(qkv.inChannels == dim && qkv.outChannels == 3 * heads * headDim)
        precondition(proj.inChannels == heads * headDim && proj.outChannels == dim)
        self.dim = dim; self.heads = heads; self.headDim = headDim; self.window = window; self.shift = shift
        self.maskValue = maskValue
        self.norm1 = norm1; self.qkv = qkv; self.proj = proj; self.relativeBias = relativeBias
        self.norm2 = norm2; self.fc1 = fc1; self.fc2 = fc2
    }

    /// Multiply-accumulates of the four linear layers (q/k/v, projection, the MLP's two) over
    /// `tokens` tokens, by arithmetic.
    public func linearMACs(tokens: Int) -> (int8: Int, fp32: Int) {
        var int8 = 0, fp32 = 0
        for linear in [qkv, proj, fc1, fc2] {
            let macs = tokens * linear.inChannels * linear.outChannels
            if case .int8 = linear { int8 += macs } else { fp32 += macs }
        }
        return (int8, fp32)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.height % window == 0 && x.width % window == 0,
                     "feature map \(x.height)×\(x.width) is not a multiple of window \(window)")
        // Residuals added into the fresh branch outputs (a + b == b + a bit for bit), so the
        // input map is never copied.
        var y = proj(attention(qkv.normalized(x, by: norm1)))
        add(&y, x)
        var out = fc2.afterGELU(fc1.normalized(y, by: norm2))
        add(&out, y)
        return out
    }

    private func add(_ a: inout Tensor, _ b: Tensor) {
        let chunks = Parallel.ranges(a.data.count, grain: 1 << 14)
        a.data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { d in
                Parallel.forEach(chunks.count) { part in
                    guard !chunks[part].isEmpty else { return }
                    pane_add(o.baseAddress! + chunks[part].lowerBound, d.baseAddress! + chunks[part].lowerBound, chunks[part].count)
                }
            }
        }
    }

    /// Attention over windows of the (shifted) map; `qkv` holds q, k, v as 3·inner channels.
    private func attention(_ qkv: Tensor) -> Tensor {
        let h = qkv.height, w = qkv.width, plane = h * w
        let t = window * window, dh = headDim, dim = inner
        let windowsX = w / window, windows = (h / window) * windowsX
        let scale = 1 / Float(dh).squareRoot()
        var out = [Float].scratch(count: dim * plane)   // every pixel is in one window
        // Bias for every (head, query, key) pair, plus the region mask's labels.
        let span = 2 * window - 1
        var bias = [Float](repeating: 0, count: heads * t * t)
        for i in 0..<t {
            for j in 0..<t {
                let dy = i / window - j / window + window - 1
                let dx = i % window - j % window + window - 1
                for hd in 0..<heads { bias[(hd * t + i) * t + j] = relativeBias[(dy * span + dx) * heads + hd] }
            }
        }
        let parts = Parallel.ranges(windows, grain: 1)
        let ldx = 2 * dim
        qkv.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                bias.withUnsafeBufferPointer { bias in
                    Parallel.forEach(parts.count) { part in
                        // One scratch block a thread: q (scaled) and v as token rows side by side
                        // (t × 2·dim), k as channel rows (dim × t, kᵀ of every head), scores s, and the
                        // heads' outputs as token rows (t × dim).
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: t * ldx + dim * t + t * t + t * dim)
                        let pixel = UnsafeMutablePointer<Int32>.allocate(capacity: t)
                        let region = UnsafeMutablePointer<Int>.allocate(capacity: t)
                        defer { scratch.deallocate(); pixel.deallocate(); region.deallocate() }
                        let x = scratch, kT = x + t * ldx, s = kT + dim * t, o = s + t * t
                        let q = src.baseAddress!, k = q + dim * plane, v = k + dim * plane
                        for win in parts[part] {
                            let wy = win / windowsX, wx = win % windowsX
                            for i in 0..<window {
                                for j in 0..<window {
                                    let ry = wy * window + i, rx = wx * window + j   // rolled coordinates
                                    pixel[i * window + j] = Int32(((ry + shift) % h) * w + (rx + shift) % w)
                                    region[i * window + j] = regionLabel(ry, h) * 3 + regionLabel(rx, w)
                                }
                            }
                            // Only windows on the last row or column of a shifted map mix regions;
                            // the mask loop (t² compares a head) is skipped everywhere else.
                            let masked = shift > 0 && (1..<t).contains { region[$0] != region[0] }
                            pane_window_gather_tokens(q, plane, Int32(dim), pixel, Int32(t), Int32(window), scale, x, Int32(ldx))
                            pane_window_gather_tokens(v, plane, Int32(dim), pixel, Int32(t), Int32(window), 1, x + dim, Int32(ldx))
                            pane_window_gather_channels(k, plane, Int32(dim), pixel, Int32(t), Int32(window), kT)
                            o.update(repeating: 0, count: t * dim)
                            for hd in 0..<heads {
                                s.update(from: bias.baseAddress! + hd * t * t, count: t * t)
                                if masked {
                                    for i in 0..<t {
                                        for j in 0..<t where region[i] != region[j] { s[i * t + j] += maskValue }
                                    }
                                }
                                pane_sgemm(Int32(t), Int32(t), Int32(dh), x + hd * dh, Int32(ldx), kT + hd * dh * t, Int32(t),
                                           s, Int32(t))
                                pane_softmax_rows(s, Int32(t), Int32(t))
                                pane_sgemm(Int32(t), Int32(dh), Int32(t), s, Int32(t), x + dim + hd * dh, Int32(ldx),
                                           o + hd * dh, Int32(dim))
                            }
                            pane_window_scatter_tokens(o, Int32(dim), Int32(dim), pixel, Int32(t), Int32(window),
                                                       dst.baseAddress!, plane)
                        }
                    }
                }
            }
        }
        return Tensor(channels: dim, height: h, width: w, data: out)   // inner channels, proj's input
    }

    /// Swin's three regions along one axis of the rolled map: [0, n−window), [n−window, n−shift), [n−shift, n).
    @inline(__always)
    private func regionLabel(_ r: Int, _ n: Int) -> Int {
        if shift == 0 { return 0 }
        return r < n - window ? 0 : (r < n - shift ? 1 : 2)
    }
}
