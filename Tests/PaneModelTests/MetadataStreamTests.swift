import Foundation
import Testing
import PaneBitstream
import PaneImageIO
@testable import Pane

/// Metadata and orientation through a `.pane` stream: what goes in comes out byte for byte, and an
/// image shows the same way after encode and decode as before.
@Suite struct MetadataStreamTests {
    static let codec = Conformance.codec
    static let directory = Repo.root.appendingPathComponent("Tests/PaneImageIOTests/Fixtures/metadata")
    static func image(_ name: String) throws -> Image { try Image(contentsOfFile: directory.appendingPathComponent(name).path) }

    @Test(arguments: ["all.png", "all.jpg", "big_icc.jpg"])
    func metadataSurvivesTheStream(_ name: String) throws {
        let image = try Self.image(name)
        #expect(!image.metadata.isEmpty)
        for encoded in [try Self.codec.encode(image, quality: 80), try Self.codec.encodeLossless(image)] {
            let file = try PaneFile(parsing: encoded.bytes)
            #expect(file.sections.prefix { $0.kind == .metadata }.count == [image.metadata.icc, image.metadata.exif, image.metadata.xmp].compactMap { $0 }.count)
            let decoded = try Self.codec.decode(encoded.bytes)
            #expect(decoded.metadata == image.metadata, "\(name)")
            #expect(Self.codec.reconstruction(of: encoded).metadata == image.metadata)
            // And into the files decode writes.
            for encoding in [ImageEncoding.png, .jpeg(JPEGOptions(quality: 95))] {
                #expect(try Image(decoding: decoded.encoded(as: encoding)).metadata == image.metadata)
            }
        }
    }

    /// Every EXIF orientation: the decoded image is the upright one, exactly when lossless, and
    /// its EXIF says 1, so a viewer shows it as it showed the original.
    @Test(arguments: 1...8)
    func orientationShowsTheSameAfterTheStream(_ n: Int) throws {
        let reference = try Self.image("reference.png")
        for input in ["orient_\(n).png", "orient_\(n).jpg"] {
            let image = try Self.image(input)
            let lossless = try Self.codec.decode(try Self.codec.encodeLossless(image).bytes)
            #expect(lossless.pixels == image.pixels && lossless.width == 12 && lossless.height == 8, "\(input)")
            #expect(EXIFOrientation.value(in: try #require(lossless.metadata.exif)) == 1)
            let lossy = try Self.codec.decode(try Self.codec.encode(image, quality: 90).bytes)
            #expect(lossy.width == reference.width && lossy.height == reference.height, "\(input)")
            // Without metadata the pixels are still upright: nothing depends on the tag.
            var bare = image
            bare.metadata = ImageMetadata()
            #expect(try Self.codec.decode(try Self.codec.encodeLossless(bare).bytes).pixels == image.pixels)
        }
    }

    @Test func corruptMetadataIsAnError() throws {
        var image = try Self.image("all.png")
        image.metadata = ImageMetadata(xmp: Array("<x/>".utf8))
        var file = try PaneFile(parsing: try Self.codec.encodeLossless(image).bytes)
        file.sections[0].payload = [0x78, 0x9C, 0xFF]
        #expect(throws: BitstreamError.self) { _ = try Self.codec.decode(file.serialized()) }
    }
}
