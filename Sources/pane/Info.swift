import ArgumentParser
import Foundation
import Pane
import PaneBitstream
import PaneImageIO

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a .pane file (header and sections).")

    @Argument(help: "Input .pane file.")
    var input: String

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        let bytes = [UInt8](try FileIO.contents(ofFile: input))
        let file = try PaneFile(parsing: bytes)
        let h = file.header
        let bits = Double(bytes.count * 8) / Double(h.width * h.height)
        // The release that decodes it, when this pane has it.
        let release = (try? ModelReleases.locate())?.release(id: h.modelID)?.name
        let sections = file.sections.map { s in "{\"kind\": \"\(s.kind)\", \"tile\": \(s.tile), \"slice\": \(s.slice), \"bytes\": \(s.payload.count)}" }
        let metadata = file.sections.filter { $0.kind == .metadata }.compactMap { s in
            Section.MetadataKind(rawValue: s.slice).map { kind in (name: "\(kind)", bytes: (try? MetadataCodec.decompress(s.payload))?.count) }
        }
        if json {
            print("{\"width\": \(h.width), \"height\": \(h.height), \"layout\": \"\(h.colorLayout)\", \"alpha\": \(h.hasAlpha), "
                  + "\"quality\": \(h.quality), \"model\": \"\(h.modelIDHex)\", \"release\": \(release.map { "\"\($0)\"" } ?? "null"), \"bytes\": \(bytes.count), \"bpp\": \(fmt(bits, 5)), "
                  + "\"tile_size\": \(h.tileSize), \"format_version\": \(h.formatVersion), \"effort\": \(h.effort), "
                  + "\"metadata\": {\(metadata.map { "\"\($0.name)\": \($0.bytes.map(String.init) ?? "null")" }.joined(separator: ", "))}, "
                  + "\"sections\": [\(sections.joined(separator: ", "))]}")
        } else {
            print("\(input): \(h.width)×\(h.height) \(h.colorLayout)\(h.hasAlpha ? "+alpha" : ""), quality \(fmt(h.quality, 2)), "
                  + "\(bytes.count) bytes (\(fmt(bits, 4)) bpp), model \(h.modelIDHex) (\(release.map { "release \($0)" } ?? "no release here has it"))")
            if !metadata.isEmpty {
                print("  metadata: " + metadata.map { "\($0.name) \($0.bytes.map { "\($0) bytes" } ?? "unreadable")" }.joined(separator: ", "))
            }
            for s in file.sections {
                let place = s.kind == .metadata ? "\(Section.MetadataKind(rawValue: s.slice).map { "\($0)" } ?? "?")"
                    : s.kind == .alpha ? "" : s.kind == .y ? "tile \(s.tile) slice \(s.slice)" : "tile \(s.tile)"
                print("  \(s.kind)\(place.isEmpty ? "" : " " + place): \(s.payload.count) bytes")
            }
        }
    }
}
