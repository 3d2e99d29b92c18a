import Foundation
import Testing
import Pane
import PaneBitstream
import PaneImageIO

/// Model releases (`Models/releases.json`, `ModelReleases`): every shipped release's golden
/// stream decodes, by its id alone, to its golden image, and keeps doing so when releases are
/// added; the releases file is checked strictly.
@Suite struct ReleaseTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let models = root.appendingPathComponent("Models")
    static let goldens = root.appendingPathComponent("Tests/PaneModelTests/Fixtures/releases")
    /// Every release ever shipped; a release may be added here, never removed.
    static let shipped = ["pane-121k", "pane-121k-int8"]

    @Test func everyShippedReleaseIsListedWithItsGolden() throws {
        let releases = try ModelReleases(directory: Self.models)
        #expect(releases.releases.map(\.name).starts(with: Self.shipped))
        for release in releases.releases {
            #expect(FileManager.default.fileExists(atPath: Self.goldens.appendingPathComponent("\(release.name).pane").path),
                    "release \(release.name) has no golden stream")
        }
        #expect(Self.shipped.contains(releases.defaultRelease.name))
    }

    /// The first releases declare the id their streams carried before releases existed.
    @Test func firstReleasesDeclareTheirWeightsDigest() throws {
        let releases = try ModelReleases(directory: Self.models)
        for name in Self.shipped {
            let release = try #require(releases.release(named: name))
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: release.manifestURL)) as? [String: Any]
            #expect((manifest?["sha256"] as? String)?.prefix(16) == Substring(release.idHex))
        }
    }

    @Test(arguments: shipped)
    func goldenStreamDecodesByItsIDAlone(_ name: String) throws {
        try decodeGolden(name, releases: ModelReleases(directory: Self.models))
    }

    /// A new release (here: a third entry whose manifest reuses the fp32 weights under a
    /// declared id of its own) leaves the old streams decodable.
    @Test func goldenStreamsDecodeAfterAReleaseIsAdded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pane-releases-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.models.path) where file != ModelReleases.fileName {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(file),
                                                       withDestinationURL: Self.models.appendingPathComponent(file))
        }
        try FileManager.default.copyItem(at: Self.models.appendingPathComponent("pane.json"), to: dir.appendingPathComponent("next.json"))
        var text = try String(contentsOf: Self.models.appendingPathComponent(ModelReleases.fileName), encoding: .utf8)
        let newest = #"{"name": "next", "id": "00112233445566ff", "manifest": "next.json"}"#
        text = text.replacingOccurrences(of: "\n  ]", with: ",\n    \(newest)\n  ]")
        text = text.replacingOccurrences(of: #""default": "pane-121k""#, with: #""default": "next""#)
        try text.write(to: dir.appendingPathComponent(ModelReleases.fileName), atomically: true, encoding: .utf8)
        let releases = try ModelReleases(directory: dir)
        #expect(releases.defaultRelease.name == "next" && releases.releases.count == Self.shipped.count + 1)
        for name in Self.shipped { try decodeGolden(name, releases: releases) }
        // The new release writes its declared id.
        let codec = try Codec(release: releases.defaultRelease)
        #expect(codec.modelID == [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xff])
    }

    func decodeGolden(_ name: String, releases: ModelReleases) throws {
        let bytes = [UInt8](try Data(contentsOf: Self.goldens.appendingPathComponent("\(name).pane")))
        let header = try PaneFile.peekHeader(bytes)
        #expect(releases.release(id: header.modelID)?.name == name)
        let codec = try Codec.decoding(bytes, releases: releases)
        let image = try codec.decode(bytes)
        let golden = try Image(contentsOfFile: Self.goldens.appendingPathComponent("\(name).decoded.png").path)
        #expect(image.width == golden.width && image.height == golden.height)
        let worst = zip(image.pixels, golden.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst <= 2, "\(name): decoded image differs from its golden by \(worst) levels")
    }

    @Test func unknownIDNamesTheKnownReleases() throws {
        var bytes = [UInt8](try Data(contentsOf: Self.goldens.appendingPathComponent("pane-121k.pane")))
        var header = try PaneFile.peekHeader(bytes)
        header.modelID = [1, 2, 3, 4, 5, 6, 7, 8]
        let file = try PaneFile(parsing: bytes)
        bytes = PaneFile(header: header, sections: file.sections).serialized()
        #expect {
            _ = try Codec.decoding(bytes, releases: ModelReleases(directory: Self.models))
        } throws: { error in
            let text = "\(error)"
            return text.contains("0102030405060708") && text.contains("pane-121k-int8")
        }
    }

    @Test(arguments: [
        (#"{"format": "pane-releases", "version": 2, "default": "a", "releases": []}"#, "newer"),
        (#"{"format": "other", "version": 1, "default": "a", "releases": []}"#, "format"),
        (#"{"format": "pane-releases", "version": 1, "default": "b", "releases": [{"name": "a", "id": "0011223344556677", "manifest": "a.json"}]}"#, "default release 'b'"),
        (#"{"format": "pane-releases", "version": 1, "default": "a", "releases": [{"name": "a", "id": "00112233", "manifest": "a.json"}]}"#, "16 hex digits"),
        (#"{"format": "pane-releases", "version": 1, "default": "a", "releases": [{"name": "a", "id": "001122334455667g", "manifest": "a.json"}]}"#, "16 hex digits"),
        (#"{"format": "pane-releases", "version": 1, "default": "a", "releases": [{"name": "a", "id": "0011223344556677", "manifest": "../a.json"}]}"#, "plain"),
        (#"{"format": "pane-releases", "version": 1, "default": "a", "releases": [{"name": "a", "id": "0011223344556677", "manifest": "a.json"}, {"name": "b", "id": "0011223344556677", "manifest": "b.json"}]}"#, "twice"),
        (#"{"format": "pane-releases", "version": 1, "releases": []}"#, "'default'"),
        ("[1, 2", "invalid JSON"),
    ])
    func invalidReleasesFileIsRefused(_ text: String, _ reason: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pane-releases-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try text.write(to: dir.appendingPathComponent(ModelReleases.fileName), atomically: true, encoding: .utf8)
        #expect {
            _ = try ModelReleases(directory: dir)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
