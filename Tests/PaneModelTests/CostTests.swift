import Testing
@testable import Pane
@testable import PaneModel

/// The multiply-accumulate counts behind `pane bench --floor` against PyTorch's count of the
/// same network (torch.utils.flop_counter in Training/measure.py, Training/README.md
/// "Measurements": g_a 19.2, h_a 0.6, h_s 1.5, slices 7.7 kMAC/px; encoder 29.0, decoder 28.4).
struct CostTests {
    static let width = 768, height = 512
    static var pixels: Double { Double(width * height) }

    @Test func countsMatchPyTorchPerPixel() {
        let codec = Codec(network: ParityTests.network)
        let (encode, decode) = codec.macCount(width: Self.width, height: Self.height)
        let perPixel = { (macs: Int) in Double(macs) / Self.pixels / 1000 }
        #expect(abs(perPixel(encode.total) - 29.0) < 0.06, "encoder \(perPixel(encode.total)) kMAC/px")
        #expect(abs(perPixel(decode.total) - 28.4) < 0.06, "decoder \(perPixel(decode.total)) kMAC/px")
        #expect(abs(perPixel(encode.int16) - (1.5 + 7.7)) < 0.06, "entropy path \(perPixel(encode.int16)) kMAC/px")
        #expect(encode.int16 == decode.int16)
        // The fp32 model has no int8 layers; its g_a and g_s counts are the transforms' totals.
        #expect(encode.int8 == 0 && decode.int8 == 0)
        let (ga, gs) = codec.transformMACs(width: Self.width, height: Self.height)
        #expect(abs(perPixel(ga) - 19.2) < 0.06 && abs(perPixel(gs) - 19.2) < 0.06)
        #expect(decode.total == gs + decode.int16)
    }

    /// The int8 model has the same shapes: the same totals, most of them moved to int8.
    @Test func int8ModelMovesMostMACsToInt8() {
        let fp32 = Codec(network: ParityTests.network).macCount(width: Self.width, height: Self.height)
        let int8 = Codec(network: Int8Tests.network).macCount(width: Self.width, height: Self.height)
        #expect(int8.encode.total == fp32.encode.total && int8.decode.total == fp32.decode.total)
        #expect(int8.encode.int16 == fp32.encode.int16)
        #expect(Double(int8.encode.int8) > 0.5 * Double(int8.encode.total - int8.encode.int16))
        #expect(Double(int8.decode.int8) > 0.5 * Double(int8.decode.total - int8.decode.int16))
    }
}
