import Foundation
import Testing
@testable import PaneImageIO

/// ICC, EXIF and XMP read from PNG and JPEG files Pillow wrote, written back byte for byte, and
/// EXIF orientation applied on reading (Fixtures/make_metadata_fixtures.py).
@Suite struct MetadataTests {
    static func fixture(_ name: String) -> String { Fixtures.path("metadata/" + name) }
    static func blob(_ name: String) throws -> [UInt8] { [UInt8](try Fixtures.data("metadata/" + name)) }
    static let reference = try! Image(contentsOfFile: fixture("reference.png"))

    @Test(arguments: 1...8)
    func orientationIsAppliedOnReadingPNG(_ n: Int) throws {
        let image = try Image(contentsOfFile: Self.fixture("orient_\(n).png"))
        #expect(image.width == 12 && image.height == 8)
        #expect(image.pixels == Self.reference.pixels, "orientation \(n)")
        #expect(EXIFOrientation.value(in: try #require(image.metadata.exif)) == 1)
        // Not oriented on request: the stored pixels and the tag as they are.
        let stored = try Image(contentsOfFile: Self.fixture("orient_\(n).png"), orient: false)
        #expect(EXIFOrientation.value(in: try #require(stored.metadata.exif)) == n)
        #expect((stored.width, stored.height) == (n >= 5 ? (8, 12) : (12, 8)))
    }

    @Test(arguments: 1...8)
    func orientationIsAppliedOnReadingJPEG(_ n: Int) throws {
        let image = try Image(contentsOfFile: Self.fixture("orient_\(n).jpg"))
        #expect(image.width == 12 && image.height == 8)
        let worst = zip(image.pixels, Self.reference.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst <= 8, "orientation \(n): \(worst) levels off")
        #expect(EXIFOrientation.value(in: try #require(image.metadata.exif)) == 1)
    }

    @Test(arguments: ["all.png", "all.jpg"])
    func iccExifAndXMPAreRead(_ name: String) throws {
        let image = try Image(contentsOfFile: Self.fixture(name))
        #expect(image.metadata.icc == (try Self.blob("icc.bin")))
        #expect(image.metadata.exif == (try Self.blob("exif1.bin")))
        #expect(image.metadata.xmp == (try Self.blob("xmp.bin")))
    }

    @Test func multiSegmentICCIsJoined() throws {
        let image = try Image(contentsOfFile: Self.fixture("big_icc.jpg"))
        #expect(image.metadata.icc == (try Self.blob("big_icc.bin")))
    }

    /// Written into PNG and JPEG by Pane, read back by Pane: the same bytes, the big ICC included.
    @Test(arguments: ["all.png", "all.jpg", "big_icc.jpg"])
    func metadataIsWrittenBackByteForByte(_ name: String) throws {
        let image = try Image(contentsOfFile: Self.fixture(name))
        for encoding in [ImageEncoding.png, .jpeg(JPEGOptions(quality: 90))] {
            let again = try Image(decoding: try image.encoded(as: encoding))
            #expect(again.metadata == image.metadata, "\(name) through \(encoding)")
            #expect(image.metadataNotWritten(as: encoding).isEmpty)
        }
    }

    @Test func pillowReadsWhatPaneWrites() throws {
        // The chunk and segment layouts are checked by their readers above; here the raw markers.
        let image = try Image(contentsOfFile: Self.fixture("all.png"))
        let png = [UInt8](try image.encoded(as: .png))
        for chunk in ["iCCP", "eXIf", "iTXt"] {
            #expect(png.firstRange(of: Array(chunk.utf8)) != nil, "\(chunk)")
        }
        let jpeg = [UInt8](try image.encoded(as: .jpeg(JPEGOptions(quality: 90))))
        #expect(jpeg.firstRange(of: Array("ICC_PROFILE".utf8) + [0, 1, 1]) != nil)
        #expect(jpeg.firstRange(of: Array("Exif".utf8) + [0, 0]) != nil)
    }

    @Test func blobsTooLargeForJPEGAreNamed() {
        var image = Self.reference
        image.metadata = ImageMetadata(exif: [UInt8](repeating: 0, count: 70_000), xmp: [1])
        #expect(image.metadataNotWritten(as: .jpeg(JPEGOptions(quality: 90))) == ["EXIF"])
        #expect(image.metadataNotWritten(as: .png).isEmpty)
    }

    @Test func malformedMetadataIsIgnoredNotFatal() throws {
        var png = [UInt8](try Fixtures.data("metadata/all.png"))
        // Break the iCCP zlib stream (its CRC too, which libpng only warns about for ancillary chunks).
        let at = try #require(png.firstRange(of: Array("iCCP".utf8))).lowerBound
        for i in at + 20..<at + 30 { png[i] ^= 0x55 }
        let expected = try Self.blob("icc.bin")
        let image = try? Image(decoding: png)
        #expect(image == nil || image?.metadata.icc != expected)
        let shortExif: [UInt8] = [0x4D, 0x4D, 0, 42]
        #expect(EXIFOrientation.value(in: shortExif) == nil && EXIFOrientation.settingTopLeft(shortExif) == shortExif)
    }
}
