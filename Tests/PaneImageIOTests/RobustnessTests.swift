import Foundation
import PaneImageIO
import Testing

/// Every prefix and many single-byte corruptions of valid files decode or throw
/// `ImageIOError`; none may crash, hang or throw anything else.
@Suite struct RobustnessTests {
    static let files = ["rgb8.png", "pal4_trns_interlaced.png", "rgba16.png", "progressive_rgb.jpg", "progressive_gray.jpg"]

    @Test func everyPNGPrefixIsTruncated() throws {
        let file = try Fixtures.data("rgb8_interlaced.png")
        for length in 8..<file.count {
            #expect(throws: ImageIOError.truncated(.png)) { try Image(decoding: file.prefix(length)) }
        }
    }

    /// Without its EOI marker a JPEG might lack scans or end mid-segment: every prefix is truncated.
    @Test func everyJPEGPrefixIsTruncated() throws {
        let ramp = Image(width: 48, height: 32, channels: 3, pixels: rampPixels(width: 48, height: 32))
        for file in [try Fixtures.data("progressive_rgb.jpg"), try ramp.encoded(as: .jpeg(JPEGOptions()))] {
            for length in 3..<file.count {
                #expect(throws: ImageIOError.truncated(.jpeg)) { try Image(decoding: file.prefix(length)) }
            }
        }
    }

    @Test(arguments: files)
    func corruptedBytesGiveTypedErrors(name: String) throws {
        let file = try Fixtures.data(name)
        for position in file.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var bytes = file
                bytes[position] ^= flip
                do {
                    _ = try Image(decoding: bytes)
                } catch is ImageIOError {
                    continue
                }
            }
        }
    }
}
