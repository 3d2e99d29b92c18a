/// Multiply-accumulates of a sub-network on a given input size, counted from the layer
/// shapes (the same convention as torch.utils.flop_counter: one MAC per weight use;
/// attention counts its projections, MLP and the two token products).
extension Sequential {
    public func macs(height: Int, width: Int) -> Int {
        var h = height, w = width, total = 0
        for layer in layers {
            switch layer {
            case let .conv(conv):
                let (oh, ow) = conv.outputSize(height: h, width: w)
                total += oh * ow * conv.outChannels * conv.inChannels * conv.kernel * conv.kernel
                (h, w) = (oh, ow)
            case let .deconv(d):
                total += h * w * d.inChannels * d.outChannels * d.kernel * d.kernel
                let (oh, ow) = d.outputSize(height: h, width: w)
                (h, w) = (oh, ow)
            case let .convInt8(conv):
                let (oh, ow) = conv.outputSize(height: h, width: w)
                total += oh * ow * conv.outChannels * conv.inChannels * conv.kernel * conv.kernel
                (h, w) = (oh, ow)
            case let .deconvInt8(d):
                total += h * w * d.inChannels * d.outChannels * d.kernel * d.kernel
                (h, w) = d.outputSize(height: h, width: w)
            case let .gdn(g):
                total += h * w * g.channels * g.channels
            case let .attention(blocks):
                for b in blocks {
                    let tokens = h * w, t = b.window * b.window
                    total += tokens * (4 * b.dim * b.inner + 2 * b.dim * b.mlpHidden + 2 * t * b.inner)
                }
            case .relu:
                break
            }
        }
        return total
    }
}
