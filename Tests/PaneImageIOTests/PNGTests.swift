import Foundation
import PaneImageIO
import Testing

@Suite struct PNGTests {
    /// One fixture per colour type, bit depth, tRNS variant and interlacing.
    static let fixtures = [
        "gray1", "gray2", "gray4", "gray8", "gray16", "gray8_trns", "gray16_trns", "graya8", "graya16",
        "pal1", "pal2", "pal4", "pal8", "pal1_trns", "pal2_trns", "pal4_trns", "pal8_trns",
        "rgb8", "rgb16", "rgb8_trns", "rgba8", "rgba16",
        "gray2_interlaced", "rgb8_interlaced", "rgba16_interlaced", "pal4_trns_interlaced",
    ]

    @Test func everyFixtureIsListed() {
        #expect(Set(Fixtures.expected.keys) == Set(Self.fixtures))
    }

    @Test(arguments: fixtures)
    func decodesToKnownPixels(name: String) throws {
        let expected = try #require(Fixtures.expected[name])
        let image = try Image(contentsOfFile: Fixtures.path(name + ".png"))
        #expect(image.width == expected.width)
        #expect(image.height == expected.height)
        #expect(image.channels == expected.channels)
        #expect(image.isGrayscale == (expected.channels == 1))
        #expect(image.pixels == expected.pixels)
        #expect(image.alpha == expected.alpha)
        #expect(try Image(decoding: Fixtures.data(name + ".png")) == image)
    }

    /// The first samples of the 16-bit fixtures are 0, 65535, 128, 129, 32767, 32896, 255, 65407:
    /// rounding gives 0, 255, 0, 1, 127, 128, 1, 255 where truncation (v >> 8) would give 0, 255, 0, 0, 127, 128, 0, 255.
    @Test func sixteenBitSamplesRoundToNearest() throws {
        let rounded: [UInt8] = [0, 255, 0, 1, 127, 128, 1, 255]
        #expect(try Image(contentsOfFile: Fixtures.path("gray16.png")).pixels.prefix(8) == rounded[...])
        let rgba = try Image(contentsOfFile: Fixtures.path("rgba16.png"))
        // In RGBA the same samples are pixel 0 = (0, 65535, 128; alpha 129), pixel 1 = (32767, 32896, 255; alpha 65407).
        #expect(Array(rgba.pixels.prefix(6)) == [0, 255, 0, 127, 128, 1])
        #expect(Array(rgba.alpha!.prefix(2)) == [1, 255])
    }

    @Test(arguments: [(1, false), (1, true), (3, false), (3, true)])
    func writeThenReadIsLossless(channels: Int, withAlpha: Bool) throws {
        let width = 13, height = 7
        let pixels = (0..<(width * height * channels)).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 37 + 11) }
        let alpha = withAlpha ? (0..<(width * height)).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 91) } : nil
        let image = Image(width: width, height: height, channels: channels, pixels: pixels, alpha: alpha)
        let encoded = try image.encoded(as: .png)
        #expect(ImageFormat(sniffing: encoded) == .png)
        #expect(try Image(decoding: encoded) == image)
    }

    /// Images large enough to be deflated in several bands (pane_png_deflate_band, joined by
    /// pane_png_assemble) read back exactly through libpng, whatever the band count; the file is
    /// the same size whichever way it is split, within a few bytes a band (each band restarts the
    /// deflate window and ends with a 5-byte sync flush).
    @Test(arguments: [(1, false), (3, false), (3, true), (1, true)])
    func bandedWritesReadBackExactly(channels: Int, withAlpha: Bool) throws {
        let width = 517, height = 389   // 389 rows: bands of unequal heights
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...15, using: &rng) }
        let pixels = noise.enumerated().map { UInt8(truncatingIfNeeded: ($0.offset / (width * channels)) + Int($0.element)) }
        let alpha = withAlpha ? (0..<(width * height)).map { UInt8(truncatingIfNeeded: $0 / 97) } : nil
        let image = Image(width: width, height: height, channels: channels, pixels: pixels, alpha: alpha)
        let saved = Image.encodingThreads
        defer { Image.encodingThreads = saved }
        var sizes: [Int] = []
        for threads in [1, 2, 3, 5] {
            Image.encodingThreads = threads
            let encoded = try image.encoded(as: .png)
            #expect(try Image(decoding: encoded) == image, "\(threads) threads")
            sizes.append(encoded.count)
        }
        #expect(sizes.max()! - sizes.min()! < sizes.min()! / 50, "sizes \(sizes)")
    }

    /// A one-pixel image and a one-row image (a single band either way).
    @Test func tinyImagesRoundTrip() throws {
        for (w, h) in [(1, 1), (700, 1), (1, 300)] {
            let image = Image(width: w, height: h, channels: 3, pixels: (0..<(w * h * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7) },
                              alpha: nil)
            #expect(try Image(decoding: image.encoded(as: .png)) == image)
        }
    }

    /// Incompressible data over 1 MiB is cut into several IDAT chunks (libpng refuses one IDAT far
    /// longer than the raw image); libpng reads them back as one stream.
    @Test func largeNoisyImagesSpanSeveralIDATChunks() throws {
        let width = 700, height = 600
        var rng = SystemRandomNumberGenerator()
        let image = Image(width: width, height: height, channels: 3,
                          pixels: (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }, alpha: nil)
        let encoded = try image.encoded(as: .png)
        #expect(try Image(decoding: encoded) == image)
        let bytes = [UInt8](encoded)
        let idats = (0..<(bytes.count - 4)).filter { bytes[$0..<($0 + 4)].elementsEqual("IDAT".utf8) }.count
        #expect(idats >= 2, "\(idats) IDAT chunks for \(bytes.count) bytes")
    }
}
