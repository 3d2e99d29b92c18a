import Foundation
import Testing
import PaneBitstream
import PaneImageIO
@testable import Pane

/// `--lossless`: every image the repository has comes back exactly, tiled or not, and small
/// graphics stay about as small as PNG keeps them.
@Suite struct LosslessTests {
    static let codec = Conformance.codec
    static let imageFixtures = Repo.root.appendingPathComponent("Tests/PaneImageIOTests/Fixtures")

    /// Every PNG of the image fixtures (PngSuite, the generated graphics, Pane's own) that decodes; the broken ones are refused by reading.
    static let images: [(String, Image)] = {
        var found: [(String, Image)] = []
        for dir in [imageFixtures.appendingPathComponent("pngsuite"), imageFixtures.appendingPathComponent("graphics"), imageFixtures] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".png") && name != "huge.png" {
                if let image = try? Image(contentsOfFile: dir.appendingPathComponent(name).path) { found.append((name, image)) }
            }
        }
        return found
    }()

    @Test func thereAreEnoughImages() {
        #expect(Self.images.count >= 100, "found \(Self.images.count)")
    }

    @Test func everyImageRoundTripsExactly() throws {
        for (name, image) in Self.images {
            for tileSize in [nil, 64] as [Int?] {
                let encoded = try Self.codec.encodeLossless(image, tileSize: tileSize)
                let decoded = try Self.codec.decode(encoded.bytes)
                #expect(decoded.pixels == image.pixels && decoded.alpha == image.alpha
                        && decoded.channels == image.channels && decoded.width == image.width, "\(name), tiles \(tileSize ?? 0)")
                #expect(Self.codec.reconstruction(of: encoded).pixels == image.pixels)
                let file = try PaneFile(parsing: encoded.bytes)
                #expect(file.sections.allSatisfy { $0.kind == .lossless }, "\(name): no alpha section when every tile holds its alpha")
            }
        }
    }

    @Test func checkerboardStaysNearPNGSize() throws {
        let colours: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]
        var pixels: [UInt8] = []
        for y in 0..<32 { for x in 0..<32 { pixels += colours[(x / 4 + y / 4) % 4] } }
        let image = Image(width: 32, height: 32, channels: 3, pixels: pixels)
        let bytes = try Self.codec.encodeLossless(image).bytes
        // Pillow writes it in 137 bytes as an RGB PNG at zlib level 9, 124 as a 4-colour palette PNG; pane: 128.
        #expect(bytes.count <= 128, "\(bytes.count) bytes")
        #expect(try Self.codec.decode(bytes).pixels == pixels)
    }

    /// A tile coded losslessly beside tiles coded by the network: each decodes as its kind.
    @Test func losslessAndLatentTilesMix() throws {
        let image = try Image(contentsOfFile: Repo.root.appendingPathComponent("Tests/PaneModelTests/Fixtures/conformance/crop_rgba.png").path)
        let lossy = try Self.codec.encode(image, quality: 60, tileSize: 64)
        let exact = try Self.codec.encodeLossless(image, tileSize: 64)
        var file = try PaneFile(parsing: lossy.bytes)
        let exactFile = try PaneFile(parsing: exact.bytes)
        // Tile 1 lossless: its z and y sections out, its lossless section in.
        file.sections.removeAll { $0.tile == 1 && ($0.kind == .z || $0.kind == .y) }
        let at = file.sections.firstIndex { $0.kind == .alpha }!
        file.sections.insert(exactFile.sections[1], at: at)
        let decoded = try Self.codec.decode(file.serialized())
        var tileOneExact = true
        for y in 0..<image.height {
            for x in 64..<image.width {
                let i = (y * image.width + x) * 3
                tileOneExact = tileOneExact && decoded.pixels[i..<i + 3] == image.pixels[i..<i + 3]
            }
        }
        #expect(tileOneExact)
        #expect(decoded.pixels != image.pixels)  // tile 0 is the network's
        #expect(decoded.alpha == image.alpha)
    }
}

/// The lossless fallback of the default encoder: graphics the network does not serve come out
/// exact or above the fidelity floor; photos are not looked at.
@Suite struct FallbackTests {
    static let codec = Conformance.codec

    @Test func everyFixtureImageAtQ90IsAbove30dBOrExact() throws {
        var worst = Double.infinity
        for (name, image) in LosslessTests.images {
            let encoded = try Self.codec.encode(image, quality: 90)
            let decoded = try Self.codec.decode(encoded.bytes)
            let psnr = Fallback.psnr(image.pixels, decoded.pixels)
            #expect(psnr >= 30, "\(name): \(psnr) dB")
            #expect(decoded.alpha == image.alpha, "\(name): alpha is always exact")
            worst = min(worst, psnr)
        }
        #expect(worst >= Fallback.fidelityFloor(quality: 90) - 0.5)
    }

    @Test func aCheckerboardFallsBackToLossless() throws {
        let colours: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]
        var pixels: [UInt8] = []
        for y in 0..<32 { for x in 0..<32 { pixels += colours[(x / 4 + y / 4) % 4] } }
        let image = Image(width: 32, height: 32, channels: 3, pixels: pixels)
        let encoded = try Self.codec.encode(image, quality: 90)
        #expect(try PaneFile(parsing: encoded.bytes).sections.map(\.kind) == [.lossless])
        #expect(try Self.codec.decode(encoded.bytes).pixels == pixels)
        #expect(encoded.bytes.count <= 128)
    }

    /// Photos have large tiles of many colours: no tile is a candidate, so their streams are
    /// exactly what the network alone writes.
    @Test func photosAreNotLookedAt() throws {
        let photo = try Image(contentsOfFile: Repo.root.appendingPathComponent("Samples/kodim23.png").path)
        let analysis = try Self.codec.analyze(photo)
        #expect(analysis.fallbackCandidates.isEmpty)
        let tiled = try Self.codec.analyze(photo, tileSize: 256)
        #expect(tiled.fallbackCandidates.isEmpty)
    }

    @Test func floorValues() {
        #expect(Fallback.fidelityFloor(quality: 90) == 30.2)
        #expect(Fallback.fidelityFloor(quality: 0) == 23)
    }
}
