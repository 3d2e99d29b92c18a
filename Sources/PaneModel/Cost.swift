import PaneKernels

/// Multiply-accumulates split by the arithmetic that performs them, which sets their speed:
/// int8 GEMMs (VNNI), the exact int16 GEMMs of the entropy path, and fp32.
public struct MACCount: Sendable, Equatable {
    public var int8 = 0, int16 = 0, fp32 = 0
    public init(int8: Int = 0, int16: Int = 0, fp32: Int = 0) { self.int8 = int8; self.int16 = int16; self.fp32 = fp32 }
    public var total: Int { int8 + int16 + fp32 }
    public static func + (a: MACCount, b: MACCount) -> MACCount {
        MACCount(int8: a.int8 + b.int8, int16: a.int16 + b.int16, fp32: a.fp32 + b.fp32)
    }
}

/// Multiply-accumulates of a sub-network on a given input size, counted from the layer
/// shapes (the same convention as torch.utils.flop_counter: one MAC per weight use;
/// attention counts its projections, MLP and the two token products).
extension Sequential {
    public func macs(height: Int, width: Int) -> Int { macCount(height: height, width: width).total }

    public func macCount(height: Int, width: Int) -> MACCount {
        var h = height, w = width, count = MACCount()
        for layer in layers {
            switch layer {
            case let .conv(conv):
                let (oh, ow) = conv.outputSize(height: h, width: w)
                count.fp32 += oh * ow * conv.outChannels * conv.inChannels * conv.kernel * conv.kernel
                (h, w) = (oh, ow)
            case let .deconv(d):
                count.fp32 += h * w * d.inChannels * d.outChannels * d.kernel * d.kernel
                let (oh, ow) = d.outputSize(height: h, width: w)
                (h, w) = (oh, ow)
            case let .convInt8(conv):
                let (oh, ow) = conv.outputSize(height: h, width: w)
                count.int8 += oh * ow * conv.outChannels * conv.inChannels * conv.kernel * conv.kernel
                (h, w) = (oh, ow)
            case let .deconvInt8(d):
                count.int8 += h * w * d.inChannels * d.outChannels * d.kernel * d.kernel
                (h, w) = d.outputSize(height: h, width: w)
            case let .gdn(g):
                count.fp32 += h * w * g.channels * g.channels
            case let .attention(blocks):
                for b in blocks {
                    let tokens = h * w, t = b.window * b.window
                    let linears = b.linearMACs(tokens: tokens)
                    count.int8 += linears.int8
                    count.fp32 += linears.fp32 + tokens * 2 * t * b.inner   // q·kᵀ and softmax·v in fp32
                }
            case .relu:
                break
            }
        }
        return count
    }
}

extension IntegerEntropyModel {
    /// The exact int16 multiply-accumulates of the hyper synthesis and the slice networks for a
    /// latent of `height × width` (ẑ is a quarter of that each way).
    public func macs(latentHeight height: Int, latentWidth width: Int) -> Int {
        var h = (height + 3) / 4, w = (width + 3) / 4, total = 0
        for layer in h_s {
            let (oh, ow) = layer.outputSize(height: h, width: w)
            // A transposed layer uses each weight once per input pixel, an ordinary one per output pixel.
            total += (layer.transposed ? h * w : oh * ow) * layer.inChannels * layer.outChannels * layer.kernel * layer.kernel
            (h, w) = (oh, ow)
        }
        for slice in slices {
            for layer in [slice.meanHidden, slice.meanFinal, slice.scaleHidden, slice.scaleFinal, slice.lrpHidden, slice.lrpFinal] {
                total += height * width * layer.inChannels * layer.outChannels * layer.kernel * layer.kernel
            }
        }
        return total
    }
}
