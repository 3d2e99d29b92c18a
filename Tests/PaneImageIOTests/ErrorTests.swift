import Foundation
import PaneImageIO
import Testing

/// Hostile or broken input gives the one typed error it should, never a crash.
@Suite struct ErrorTests {
    static let smoothJPEG: Data = {
        let image = Image(width: 48, height: 32, channels: 3, pixels: rampPixels(width: 48, height: 32))
        return try! image.encoded(as: .jpeg(JPEGOptions()))
    }()

    @Test func emptyInput() {
        #expect(throws: ImageIOError.empty) { try Image(decoding: Data()) }
    }

    @Test func nonImageBytes() {
        #expect(throws: ImageIOError.unsupportedFormat) { try Image(decoding: Data("just some text".utf8)) }
        #expect(throws: ImageIOError.unsupportedFormat) { try Image(decoding: [UInt8]([0x89, 0x50, 0x4E])) }
    }

    @Test func truncatedPNG() {
        #expect(throws: ImageIOError.truncated(.png)) { try Image(contentsOfFile: Fixtures.path("truncated.png")) }
        #expect(throws: ImageIOError.truncated(.png)) { try Image(decoding: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) }
    }

    @Test func pngWithBadCRC() {
        #expect(throws: ImageIOError.corrupt(.png, reason: "IDAT: CRC error")) {
            try Image(contentsOfFile: Fixtures.path("bad_crc.png"))
        }
    }

    /// Every chunk is intact but the compressed data holds 2 of the 5 rows.
    @Test func pngWithTooLittleImageData() {
        #expect(throws: ImageIOError.corrupt(.png, reason: "Not enough image data")) {
            try Image(contentsOfFile: Fixtures.path("short_data.png"))
        }
    }

    @Test func pngHeaderClaimingAHugeImage() {
        #expect(throws: ImageIOError.tooLarge(width: 1_000_000_000, height: 1_000_000_000, limits: ImageLimits())) {
            try Image(contentsOfFile: Fixtures.path("huge.png"))
        }
    }

    @Test func limitsAreTheCallers() throws {
        let small = ImageLimits(maxDimension: 8, maxPixels: 1 << 20)
        #expect(throws: ImageIOError.tooLarge(width: 11, height: 5, limits: small)) {
            try Image(contentsOfFile: Fixtures.path("rgb8.png"), limits: small)
        }
        let few = ImageLimits(maxDimension: 100, maxPixels: 1000)
        #expect(throws: ImageIOError.tooLarge(width: 48, height: 32, limits: few)) {
            try Image(decoding: Self.smoothJPEG, limits: few)
        }
        #expect(try Image(contentsOfFile: Fixtures.path("rgb8.png"), limits: ImageLimits(maxDimension: 11, maxPixels: 55))
            .width == 11)
    }

    @Test func truncatedJPEG() {
        for length in [Self.smoothJPEG.count / 2, 100, 3] {
            #expect(throws: ImageIOError.truncated(.jpeg)) { try Image(decoding: Self.smoothJPEG.prefix(length)) }
        }
    }

    /// The quantization table's marker turned into an APP5 marker: the frame refers to a table that does not exist.
    @Test func corruptJPEG() throws {
        var bytes = Self.smoothJPEG
        let table = try #require(jpegSegmentOffset(bytes, markers: [0xDB]))
        bytes[table + 1] = 0xE5
        #expect(throws: ImageIOError.corrupt(.jpeg, reason: "Quantization table 0x00 was not defined")) {
            try Image(decoding: bytes)
        }
    }

    /// A frame header claiming 65000 x 65000 (4.2 billion pixels) is refused before decoding.
    @Test func jpegHeaderClaimingAHugeImage() throws {
        var bytes = Self.smoothJPEG
        let frame = try #require(jpegSegmentOffset(bytes, markers: [0xC0]))
        for offset in [5, 7] {  // height, then width, big-endian
            bytes[frame + offset] = UInt8(65000 >> 8)
            bytes[frame + offset + 1] = UInt8(65000 & 0xFF)
        }
        #expect(throws: ImageIOError.tooLarge(width: 65000, height: 65000, limits: ImageLimits())) {
            try Image(decoding: bytes)
        }
    }

    @Test func missingFile() {
        #expect(throws: ImageIOError.io(path: "/nonexistent/x.png", reason: "No such file or directory")) {
            try Image(contentsOfFile: "/nonexistent/x.png")
        }
        #expect(throws: ImageIOError.io(path: "/tmp", reason: "not a regular file")) {
            try Image(contentsOfFile: "/tmp")
        }
    }

    @Test func descriptionsAreOneLine() {
        let errors: [ImageIOError] = [
            .empty, .unsupportedFormat, .truncated(.png), .corrupt(.jpeg, reason: "bad Huffman code"),
            .tooLarge(width: 1_000_000_000, height: 1_000_000_000, limits: ImageLimits()), .unsupported("CMYK JPEG"),
            .failed(.png, reason: "out of memory"), .io(path: "a.png", reason: "Permission denied"),
        ]
        for error in errors {
            #expect(!error.description.isEmpty && !error.description.contains("\n"))
        }
        #expect(ImageIOError.truncated(.png).description == "truncated PNG: the data ends before the image does")
        #expect(ImageIOError.tooLarge(width: 70000, height: 2, limits: ImageLimits()).description
            == "image of 70000x2 pixels is over the limit of 65536 per side and 268435456 in all")
    }
}
