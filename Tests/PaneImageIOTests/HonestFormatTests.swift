import Foundation
import Testing
import CZlib
@testable import PaneImageIO

/// What reading changes is said (16-bit reduced, animated PNG's later frames), and a valid JPEG
/// of a kind libjpeg does not decode here is "unsupported", not "corrupt".
@Suite struct HonestFormatTests {
    static func baselineJPEG() throws -> [UInt8] { [UInt8](try Fixtures.data("metadata/orient_1.jpg")) }

    /// The offset of the first SOFn marker (FF C0…C3).
    static func frameMarker(_ jpeg: [UInt8]) throws -> Int {
        try #require((2..<jpeg.count - 1).first { jpeg[$0] == 0xFF && (0xC0...0xC3).contains(jpeg[$0 + 1]) })
    }

    @Test func twelveBitJPEGIsUnsupported() throws {
        var jpeg = try Self.baselineJPEG()
        jpeg[try Self.frameMarker(jpeg) + 4] = 12  // sample precision
        #expect {
            _ = try Image(decoding: jpeg)
        } throws: { error in
            guard case ImageIOError.unsupported = error else { return false }
            return true
        }
    }

    @Test func losslessJPEGIsUnsupported() throws {
        var jpeg = try Self.baselineJPEG()
        jpeg[try Self.frameMarker(jpeg) + 1] = 0xC3  // SOF3: the lossless process
        #expect {
            _ = try Image(decoding: jpeg)
        } throws: { error in
            guard case ImageIOError.unsupported = error else { return false }
            return true
        }
    }

    @Test func sixteenBitInputIsNoted() throws {
        #expect(try Image(contentsOfFile: Fixtures.path("gray16.png")).readingNotes == ["16-bit samples reduced to 8 bits"])
        #expect(try Image(contentsOfFile: Fixtures.path("gray8.png")).readingNotes.isEmpty)
    }

    @Test func animatedPNGIsNoted() throws {
        var png = [UInt8](try Fixtures.data("rgb8.png"))
        let data: [UInt8] = [0, 0, 0, 2, 0, 0, 0, 0]  // acTL: 2 frames, loop forever
        let typed = Array("acTL".utf8) + data
        let crc = UInt32(typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
        let chunk: [UInt8] = [0, 0, 0, 8] + typed + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        png.insert(contentsOf: chunk, at: 33)  // after the signature and IHDR
        let image = try Image(decoding: png)
        #expect(image.readingNotes == ["animated PNG: only its first frame is kept"])
        #expect(image.pixels == (try Image(contentsOfFile: Fixtures.path("rgb8.png"))).pixels)
    }
}
