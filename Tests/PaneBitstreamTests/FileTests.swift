import Foundation
import Testing
@testable import PaneBitstream

/// Whole files: round trips, the files Python wrote, and the section rules.
@Suite struct FileTests {
    static let modelID: [UInt8] = [0x5E, 0x1F, 0x00, 0xD2, 0xA7, 0xC4, 0xB3, 0x89]

    /// 3 × 2 tiles of 64 px, 2 slices, alpha.
    static func sample() -> PaneFile {
        let header = PaneHeader(modelID: modelID, width: 130, height: 100, colorLayout: .rgb, hasAlpha: true,
                                quality: 80, tileSize: 64, sliceCount: 2)
        var sections: [Section] = []
        for tile in 0..<header.tileCount {
            sections.append(Section(kind: .z, tile: tile, payload: (0..<UInt8(tile + 3)).map { $0 &* 7 }))
            for slice in 0..<header.sliceCount {
                sections.append(Section(kind: .y, tile: tile, slice: slice, payload: [UInt8](repeating: UInt8(tile * 16 + slice), count: tile + slice)))
            }
        }
        sections.append(Section(kind: .alpha, payload: AlphaCodec.compress([UInt8](repeating: 255, count: 130 * 100))))
        return PaneFile(header: header, sections: sections)
    }

    @Test func roundTrip() throws {
        let file = Self.sample()
        let bytes = file.serialized()
        #expect(try PaneFile(parsing: bytes) == file)
        #expect(try PaneFile(parsing: bytes, expectedModelIDs: [Self.modelID]) == file)
        #expect(bytes.count == file.header.size + file.sections.reduce(0) { $0 + 14 + $1.payload.count })
        #expect(file.header.size == PaneHeader.encodedSize)
        #expect(try PaneFile.peekHeader(bytes) == file.header)
    }

    @Test func pythonFixturesParseToTheirFieldsAndReserializeIdentically() throws {
        let manifest = try Fixtures.manifest()
        #expect(manifest.files.count == 3)
        for (name, expected) in manifest.files {
            let bytes = try Fixtures.bytes(name)
            #expect(bytes.count == expected.size, "\(name)")
            let file = try PaneFile(parsing: bytes)
            let header = file.header
            #expect(header.modelIDHex == expected.header.model_id_hex)
            #expect(header.width == expected.header.width && header.height == expected.header.height)
            #expect(header.colorLayout == (expected.header.color_layout == "gray" ? .gray : .rgb))
            #expect(header.hasAlpha == expected.header.has_alpha)
            #expect(header.quality == expected.header.quality)
            #expect(header.tileSize == expected.header.tile_size && header.sliceCount == expected.header.slice_count)
            #expect(header.effort == expected.header.effort && header.formatVersion == expected.header.format_version)
            let kinds: [String: Section.Kind] = ["z": .z, "y": .y, "alpha": .alpha, "lossless": .lossless, "metadata": .metadata]
            let sections = expected.sections.map {
                Section(kind: kinds[$0.kind]!, tile: $0.tile, slice: $0.slice, payload: PaneBitstreamTests.bytes(hex: $0.payload_hex))
            }
            #expect(file.sections == sections, "\(name)")
            #expect(file.serialized() == bytes, "\(name)")
            // A lossless tile: Python's payload decodes to its samples, and Swift writes the same bytes.
            if let samplesHex = expected.lossless_samples_hex,
               let section = file.sections.first(where: { $0.kind == .lossless }) {
                let samples = PaneBitstreamTests.bytes(hex: samplesHex)
                let tileWidth = header.width - header.tileSize * (section.tile % header.tileColumns)
                let channels = (header.colorLayout == .gray ? 1 : 3) + (header.hasAlpha ? 1 : 0)
                let width = min(header.tileSize, tileWidth), height = samples.count / (width * channels)
                #expect(try LosslessCodec.decompress(section.payload, width: width, height: height, channels: channels) == samples)
                #expect(LosslessCodec.compress(samples, width: width, height: height, channels: channels) == section.payload)
            }
        }
        #expect(manifest.files.values.map(\.header.format_version).sorted() == [1, 1, 2])
    }

    @Test func pythonErrorCasesGiveTheSameErrorHere() throws {
        let manifest = try Fixtures.manifest()
        #expect(manifest.errors.count >= 25)
        for errorCase in manifest.errors {
            let ids = errorCase.expected_model_ids_hex.map { $0.map { bytes(hex: $0) } }
            let error = bitstreamError { _ = try PaneFile(parsing: bytes(hex: errorCase.hex), expectedModelIDs: ids) }
            #expect(error?.caseName == errorCase.error, "\(errorCase.name)")
            #expect(error?.description == errorCase.message, "\(errorCase.name)")
        }
    }

    @Test func everyTruncationIsTruncated() throws {
        for bytes in [try Fixtures.bytes("tiled_alpha.pane"), try Fixtures.bytes("single_gray.pane"),
                      try Fixtures.bytes("mixed_v2.pane"), Self.sample().serialized()] {
            for length in 0..<bytes.count {
                #expect(throws: BitstreamError.truncated) { try PaneFile(parsing: Array(bytes[..<length])) }
            }
        }
    }

    @Test(arguments: ["tiled_alpha.pane", "mixed_v2.pane"])
    func aFlippedPayloadByteIsACRCError(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let file = try PaneFile(parsing: bytes)
        var checked = 0
        for (section, start) in zip(file.sections, sectionOffsets(file)) {
            for index in start + 10 ..< start + 10 + section.payload.count {
                var broken = bytes
                broken[index] ^= 0x40
                #expect(throws: BitstreamError.corrupt("section CRC mismatch at byte \(start)")) { try PaneFile(parsing: broken) }
                checked += 1
            }
        }
        #expect(checked == file.sections.reduce(0) { $0 + $1.payload.count })
    }

    @Test func aFlippedSectionFrameOrCRCByteIsAnError() throws {
        let file = Self.sample()
        let bytes = file.serialized()
        for (section, start) in zip(file.sections, sectionOffsets(file)) {
            let crcStart = start + 10 + section.payload.count
            for index in Array(start ..< start + 6) + Array(crcStart ..< crcStart + 4) {
                var broken = bytes
                broken[index] ^= 0x01
                #expect(throws: BitstreamError.corrupt("section CRC mismatch at byte \(start)")) { try PaneFile(parsing: broken) }
            }
        }
    }

    @Test func missingSection() throws {
        var file = Self.sample()
        file.sections.remove(at: 4)  // y (tile 1, slice 0)
        #expect(throws: BitstreamError.missingSection("y (tile 1, slice 0)")) { try PaneFile(parsing: file.serialized()) }
        file = Self.sample()
        file.sections.remove(at: 3)  // z (tile 1)
        #expect(throws: BitstreamError.missingSection("z (tile 1)")) { try PaneFile(parsing: file.serialized()) }
        file = Self.sample()
        file.sections.swapAt(1, 2)
        #expect(throws: BitstreamError.missingSection("y (tile 0, slice 0)")) { try PaneFile(parsing: file.serialized()) }
        #expect(BitstreamError.missingSection("alpha").description == "incomplete .pane file: section alpha is missing or out of order")
    }

    @Test func duplicateSection() throws {
        var file = Self.sample()
        file.sections.insert(file.sections[1], at: 2)
        #expect(throws: BitstreamError.corrupt("duplicate section y (tile 0, slice 0)")) { try PaneFile(parsing: file.serialized()) }
        file = Self.sample()
        file.sections.append(file.sections[0])  // after the last section
        #expect(throws: BitstreamError.corrupt("duplicate section z (tile 0)")) { try PaneFile(parsing: file.serialized()) }
    }

    @Test func sectionsTheHeaderDoesNotHave() throws {
        var file = Self.sample()
        file.sections[0].tile = 6
        #expect(throws: BitstreamError.corrupt("section z names tile 6; the header has 6 tiles")) { try PaneFile(parsing: file.serialized()) }
        file = Self.sample()
        file.sections[2].slice = 2
        #expect(throws: BitstreamError.corrupt("section y of tile 0 names slice 2; the header has 2 slices")) {
            try PaneFile(parsing: file.serialized())
        }
        file = Self.sample()
        file.header.hasAlpha = false
        #expect(throws: BitstreamError.corrupt("alpha section in a file whose header has no alpha")) { try PaneFile(parsing: file.serialized()) }
        file = Self.sample()
        file.sections.removeLast()
        #expect(throws: BitstreamError.truncated) { try PaneFile(parsing: file.serialized()) }
        #expect(throws: BitstreamError.corrupt("3 bytes after the last section")) { try PaneFile(parsing: Self.sample().serialized() + [1, 2, 3]) }
    }

    @Test func unknownSectionType() throws {
        var bytes = Self.sample().serialized()
        var writer = ByteWriter()
        var frame = SectionFrame(kind: 4, tile: 0, slice: 0, length: 0)
        frame.visitFields(&writer)
        writer.appendCRC(from: 0)
        bytes.insert(contentsOf: writer.bytes, at: PaneHeader.encodedSize)
        #expect(throws: BitstreamError.corrupt("tile 0 has both a lossless section and z sections")) { try PaneFile(parsing: bytes) }
        var unknown = Self.sample().serialized()
        writer = ByteWriter()
        frame = SectionFrame(kind: 6, tile: 0, slice: 0, length: 0)
        frame.visitFields(&writer)
        writer.appendCRC(from: 0)
        unknown.insert(contentsOf: writer.bytes, at: PaneHeader.encodedSize)
        #expect(throws: BitstreamError.corrupt("unknown section type 6 at byte 33")) { try PaneFile(parsing: unknown) }
    }

    /// Version 2's sections: metadata first (optional, kinds ascending), a tile coded losslessly
    /// in place of its z and y, and writing an old version still possible for old files.
    @Test func versionTwoSectionRules() throws {
        var file = Self.sample()
        let exact = LosslessCodec.compress([UInt8](repeating: 7, count: 64 * 64 * 3), width: 64, height: 64, channels: 3)
        file.sections.removeSubrange(3..<6)  // tile 1's z and y
        file.sections.insert(Section(kind: .lossless, tile: 1, payload: exact), at: 3)
        file.sections.insert(Section(kind: .metadata, slice: Section.MetadataKind.exif.rawValue, payload: [1, 2]), at: 0)
        #expect(try PaneFile(parsing: file.serialized()) == file)
        var twice = file
        twice.sections.insert(twice.sections[0], at: 0)
        #expect(throws: BitstreamError.corrupt("section metadata (exif) is a duplicate or out of order")) {
            try PaneFile(parsing: twice.serialized())
        }
        // Every tile lossless: the tiles hold the alpha, and an alpha section is refused.
        var exactFile = Self.sample()
        exactFile.sections = (0..<exactFile.header.tileCount).map { Section(kind: .lossless, tile: $0, payload: []) }
        #expect(try PaneFile(parsing: exactFile.serialized()) == exactFile)
        exactFile.sections.append(Self.sample().sections.last!)
        #expect(throws: BitstreamError.corrupt("alpha section in a file whose tiles are all lossless (they hold their alpha)")) {
            try PaneFile(parsing: exactFile.serialized())
        }
        var old = Self.sample()
        old.header.formatVersion = 1
        let v1 = old.serialized()
        #expect(v1.count == Self.sample().serialized().count - 1)
        #expect(try PaneFile(parsing: v1) == old)
    }

    /// A header claiming 2^28 tiles and a section claiming 4 GiB cost nothing: both are checked
    /// against the bytes actually there.
    @Test func hugeClaimsAllocateNothing() throws {
        let header = PaneHeader(modelID: Self.modelID, width: 1 << 20, height: 1 << 20, colorLayout: .rgb, hasAlpha: true,
                                quality: 50, tileSize: 64, sliceCount: 16)
        #expect(header.tileCount == 1 << 28)
        var bytes = PaneFile(header: header, sections: []).serialized()
        #expect(throws: BitstreamError.truncated) { try PaneFile(parsing: bytes) }
        bytes += [1, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        #expect(throws: BitstreamError.truncated) { try PaneFile(parsing: bytes) }
    }

    @Test func descriptionsAreOneLine() {
        let errors: [BitstreamError] = [.notPane, .newerVersion(found: 3, supported: 1), .unknownModel(id: "00ff"), .truncated,
                                        .corrupt("x"), .missingSection("alpha"), .invalidHeader("y")]
        for error in errors {
            #expect(!error.description.isEmpty && !error.description.contains("\n"))
        }
    }
}
