import Foundation
import PaneImageIO
import Testing

@Suite struct JPEGTests {
    static let width = 48, height = 32
    static let ramp = Image(width: width, height: height, channels: 3, pixels: rampPixels(width: width, height: height))

    @Test func writeThenReadKeepsASmoothImage() throws {
        let encoded = try Self.ramp.encoded(as: .jpeg(JPEGOptions(quality: 90)))
        #expect(ImageFormat(sniffing: encoded) == .jpeg)
        let decoded = try Image(decoding: encoded)
        #expect(decoded.width == Self.width && decoded.height == Self.height && decoded.channels == 3)
        #expect(decoded.alpha == nil)
        #expect(samplePSNR(decoded.pixels, Self.ramp.pixels) > 30)
    }

    @Test func grayStaysGray() throws {
        let gray = Image(width: 40, height: 24, channels: 1, pixels: (0..<960).map { (i: Int) -> UInt8 in UInt8(i % 40 * 6) })
        let decoded = try Image(decoding: gray.encoded(as: .jpeg(JPEGOptions())))
        #expect(decoded.isGrayscale)
        #expect(samplePSNR(decoded.pixels, gray.pixels) > 30)
    }

    /// Pillow-made progressive files (make_fixtures.py), so another encoder than ours.
    @Test func readsProgressiveFixtures() throws {
        let rgb = try Image(contentsOfFile: Fixtures.path("progressive_rgb.jpg"))
        #expect(rgb.width == Self.width && rgb.height == Self.height && rgb.channels == 3)
        #expect(samplePSNR(rgb.pixels, Self.ramp.pixels) > 30)

        let gray = try Image(contentsOfFile: Fixtures.path("progressive_gray.jpg"))
        #expect(gray.width == Self.width && gray.height == Self.height && gray.isGrayscale)
        // Pillow's convert("L"): (19595 R + 38470 G + 7471 B + 0x8000) >> 16.
        let luma = stride(from: 0, to: Self.ramp.pixels.count, by: 3).map { (i: Int) -> UInt8 in
            let (r, g, b) = (Int(Self.ramp.pixels[i]), Int(Self.ramp.pixels[i + 1]), Int(Self.ramp.pixels[i + 2]))
            return UInt8((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16)
        }
        #expect(samplePSNR(gray.pixels, luma) > 30)
    }

    @Test func progressiveOptionWritesProgressive() throws {
        let progressive = try Self.ramp.encoded(as: .jpeg(JPEGOptions(progressive: true)))
        #expect(startOfFrameMarker(progressive) == 0xC2)
        #expect(startOfFrameMarker(try Self.ramp.encoded(as: .jpeg(JPEGOptions()))) == 0xC0)
        #expect(samplePSNR(try Image(decoding: progressive).pixels, Self.ramp.pixels) > 30)
    }

    @Test func subsamplingSetsLumaSamplingFactors() throws {
        let factors: [(JPEGOptions.Subsampling, UInt8)] = [(.yuv420, 0x22), (.yuv422, 0x21), (.yuv444, 0x11)]
        for (subsampling, lumaFactors) in factors {
            let encoded = try Self.ramp.encoded(as: .jpeg(JPEGOptions(subsampling: subsampling)))
            let frame = try #require(startOfFrameOffset(encoded))
            // SOF: FF Cn, length (2), precision (1), height (2), width (2), count (1), then id, factors.
            #expect(encoded[frame + 11] == lumaFactors)
        }
    }

    @Test func optimizedCodingIsSmallerAndQualityRaisesSize() throws {
        let plain = try Self.ramp.encoded(as: .jpeg(JPEGOptions(quality: 75)))
        let optimized = try Self.ramp.encoded(as: .jpeg(JPEGOptions(quality: 75, optimizeCoding: true)))
        let better = try Self.ramp.encoded(as: .jpeg(JPEGOptions(quality: 98)))
        #expect(optimized.count < plain.count)
        #expect(better.count > plain.count)
        #expect(try Image(decoding: optimized) == Image(decoding: plain))
    }

    @Test func refusesCMYK() {
        #expect(throws: ImageIOError.unsupported("CMYK JPEG")) {
            try Image(contentsOfFile: Fixtures.path("cmyk.jpg"))
        }
    }

    @Test func refusesToWriteAlpha() {
        let image = Image(width: 2, height: 1, channels: 1, pixels: [1, 2], alpha: [255, 0])
        #expect(throws: ImageIOError.unsupported("JPEG cannot store alpha; write PNG or drop the alpha plane")) {
            try image.encoded(as: .jpeg(JPEGOptions()))
        }
    }

    private func startOfFrameOffset(_ data: Data) -> Int? {
        jpegSegmentOffset(data, markers: [0xC0, 0xC2])
    }

    private func startOfFrameMarker(_ data: Data) -> UInt8? {
        startOfFrameOffset(data).map { [UInt8](data)[$0 + 1] }
    }
}
