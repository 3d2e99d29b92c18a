import Foundation
import PaneBitstream

/// The shipped models: immutable releases, each with a name and a declared 8-byte id (the id
/// every stream it writes carries), listed in `Models/releases.json`:
///
///     {"format": "pane-releases", "version": 1, "default": "pane-121k",
///      "releases": [{"name": "pane-121k", "id": "30da61054bc82835", "manifest": "pane.json"}, …]}
///
/// A release is never removed or changed once shipped (docs/model-format.md, "Releases"):
/// decoding picks the release by the stream's id, so every `.pane` file stays decodable.
/// The declared id of the first releases is the first 8 bytes of their weights' sha256, the
/// id streams carried before releases existed; later re-storing of a release's weights keeps it.
public struct ModelReleases: Sendable {
    public static let fileName = "releases.json"
    public static let format = "pane-releases"
    public static let supportedVersion = 1

    public struct Release: Sendable, Equatable {
        public let name: String
        /// The id in the streams it writes.
        public let id: [UInt8]
        /// Its manifest, inside the releases' directory.
        public let manifestURL: URL

        public var idHex: String { id.map { String(format: "%02x", $0) }.joined() }
    }

    /// The directory holding `releases.json` and the manifests it names.
    public let directory: URL
    /// In the order of the file: oldest first.
    public let releases: [Release]
    /// The release `pane encode` uses unless told otherwise.
    public let defaultRelease: Release

    /// Reads and checks `directory/releases.json`: format and version, names and ids unique,
    /// ids 16 hex digits, manifests plain file names present in `directory`, the default listed.
    /// - Throws: `ReleaseError`.
    public init(directory: URL) throws {
        let url = directory.appendingPathComponent(Self.fileName)
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ReleaseError.unreadable(url.path) }
        struct Stored: Decodable {
            struct Entry: Decodable { let name: String; let id: String; let manifest: String }
            let format: String
            let version: Int
            let `default`: String
            let releases: [Entry]
        }
        let stored: Stored
        do { stored = try JSONDecoder().decode(Stored.self, from: data) } catch {
            throw ReleaseError.invalid(url.path, "not a releases file (\(Self.describe(error)))")
        }
        guard stored.format == Self.format else { throw ReleaseError.invalid(url.path, "format '\(stored.format)', expected '\(Self.format)'") }
        guard stored.version <= Self.supportedVersion else {
            throw ReleaseError.invalid(url.path, "version \(stored.version) is newer than this pane reads (\(Self.supportedVersion)); upgrade pane")
        }
        guard stored.version >= 1 else { throw ReleaseError.invalid(url.path, "version \(stored.version) does not exist") }
        var releases: [Release] = []
        for entry in stored.releases {
            guard let id = Self.parseID(entry.id) else {
                throw ReleaseError.invalid(url.path, "release '\(entry.name)': id '\(entry.id)' is not 16 hex digits")
            }
            guard !entry.name.isEmpty, !entry.manifest.isEmpty, !entry.manifest.contains("/"), !entry.manifest.hasPrefix(".") else {
                throw ReleaseError.invalid(url.path, "release '\(entry.name)': name and manifest must be plain, non-empty file names")
            }
            guard !releases.contains(where: { $0.name == entry.name || $0.id == id }) else {
                throw ReleaseError.invalid(url.path, "release '\(entry.name)' (id \(entry.id)) is listed twice")
            }
            releases.append(Release(name: entry.name, id: id, manifestURL: directory.appendingPathComponent(entry.manifest)))
        }
        guard let defaultRelease = releases.first(where: { $0.name == stored.default }) else {
            throw ReleaseError.invalid(url.path, "default release '\(stored.default)' is not listed")
        }
        self.directory = directory
        self.releases = releases
        self.defaultRelease = defaultRelease
    }

    public func release(id: [UInt8]) -> Release? { releases.first { $0.id == id } }
    public func release(named name: String) -> Release? { releases.first { $0.name == name } }

    /// The first directory holding `releases.json` of: `Models/` beside the executable and up to
    /// three directories above it (a build tree), `Models/` in the current directory,
    /// `../share/pane/` beside the executable (an installed tree), `/usr/local/share/pane/`.
    /// - Throws: `ReleaseError.notFound` listing the places looked at.
    public static func locate() throws -> ModelReleases {
        let candidates = searchDirectories()
        for dir in candidates where FileManager.default.fileExists(atPath: dir.appendingPathComponent(fileName).path) {
            return try ModelReleases(directory: dir)
        }
        throw ReleaseError.notFound(candidates.map { $0.appendingPathComponent(fileName).path })
    }

    static func searchDirectories() -> [URL] {
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var dirs: [URL] = []
        var dir = exe.deletingLastPathComponent()
        let bin = dir
        for _ in 0..<4 {
            dirs.append(dir.appendingPathComponent("Models"))
            dir = dir.deletingLastPathComponent()
        }
        dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Models"))
        dirs.append(bin.deletingLastPathComponent().appendingPathComponent("share/pane"))
        dirs.append(URL(fileURLWithPath: "/usr/local/share/pane"))
        return dirs
    }

    static func parseID(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 16 else { return nil }
        var id: [UInt8] = []
        for i in stride(from: 0, to: 16, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            id.append(byte)
        }
        return id
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        default: return "invalid JSON"
        }
    }
}

/// Why the releases could not be read or a stream's release found; one line each.
public enum ReleaseError: Error, CustomStringConvertible, Equatable {
    case notFound([String])
    case unreadable(String)
    case invalid(String, String)
    case unknownRelease(String, known: [String])
    case unknownModel(id: String, directory: String, known: [String])
    case wrongModel(id: String, release: String)

    public var description: String {
        switch self {
        case let .notFound(paths):
            return "no Pane models found (looked for \(paths.joined(separator: ", "))); pass --model or set PANE_MODEL"
        case let .unreadable(path): return "cannot read \(path)"
        case let .invalid(path, why): return "\(path): \(why)"
        case let .unknownRelease(name, known):
            return "no model release named '\(name)' (releases: \(known.joined(separator: ", ")))"
        case let .unknownModel(id, directory, known):
            return "encoded with model \(id), which no release in \(directory) has (releases: \(known.joined(separator: ", "))); "
                + "install a newer pane or pass the model with --model"
        case let .wrongModel(id, release):
            return "encoded with model \(id) (release \(release)), not the model given; decode without --model / PANE_MODEL to use it"
        }
    }
}

extension Codec {
    /// The model a user names: `model` is a release name or a manifest path (anything with a `/`
    /// or ending in `.json`); nil means `$PANE_MODEL` (the same two forms), else the default
    /// release. A manifest that is a release's keeps that release's declared id.
    /// - Throws: `ReleaseError` (no releases found, no such release), or the model's load errors
    ///   (a missing manifest names its path).
    public static func named(_ model: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Codec {
        let chosen = model ?? environment["PANE_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
        guard let chosen else { return try Codec(release: ModelReleases.locate().defaultRelease) }
        if chosen.contains("/") || chosen.hasSuffix(".json") {
            let url = URL(fileURLWithPath: chosen).standardizedFileURL.resolvingSymlinksInPath()
            if let releases = try? ModelReleases.locate(),
               let release = releases.releases.first(where: { $0.manifestURL.standardizedFileURL.resolvingSymlinksInPath() == url }) {
                return try Codec(release: release)
            }
            return try Codec(modelURL: url)
        }
        let releases = try ModelReleases.locate()
        guard let release = releases.release(named: chosen) else {
            throw ReleaseError.unknownRelease(chosen, known: releases.releases.map(\.name))
        }
        return try Codec(release: release)
    }

    /// The codec for decoding `bytes`: the model named as in `named(_:)` when one is (`model` or
    /// `$PANE_MODEL`), else the release whose id the stream carries.
    /// - Throws: as `decoding(_:releases:)` and `named(_:)`; a named model that did not write the
    ///   stream is `BitstreamError.unknownModel`, with the release that did named when known.
    public static func forDecoding(_ bytes: [UInt8], model: String?,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Codec {
        let named = model ?? environment["PANE_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
        guard named != nil else { return try decoding(bytes, releases: ModelReleases.locate()) }
        let codec = try Codec.named(model, environment: environment)
        let header = try PaneFile.peekHeader(bytes)
        if header.modelID != codec.modelID, let releases = try? ModelReleases.locate(),
           let release = releases.release(id: header.modelID) {
            throw ReleaseError.wrongModel(id: header.modelIDHex, release: release.name)
        }
        return codec
    }

    /// The codec of a release: its manifest, and its declared id in the streams it writes.
    public init(release: ModelReleases.Release) throws {
        try self.init(modelURL: release.manifestURL)
        declaredID = release.id
    }

    /// The codec that decodes `bytes`: the release whose id the stream's header carries.
    /// - Throws: `BitstreamError` for a header that cannot be read, `ReleaseError.unknownModel`
    ///   when no release has the stream's id, or the model's load errors.
    public static func decoding(_ bytes: [UInt8], releases: ModelReleases) throws -> Codec {
        let header = try PaneFile.peekHeader(bytes)
        guard let release = releases.release(id: header.modelID) else {
            throw ReleaseError.unknownModel(id: header.modelIDHex, directory: releases.directory.path,
                                            known: releases.releases.map { "\($0.name) \($0.idHex)" })
        }
        return try Codec(release: release)
    }
}

/// The codecs of the releases streams name, each loaded once and shared (batch decoding of
/// streams from several releases). Thread-safe.
public final class ReleaseCodecs: @unchecked Sendable {
    private let releases: ModelReleases
    private let lock = NSLock()
    private var loaded: [[UInt8]: Codec] = [:]

    public init(_ releases: ModelReleases) { self.releases = releases }

    /// The codec of the release that wrote `bytes` (see `Codec.decoding(_:releases:)`).
    public func codec(decoding bytes: [UInt8]) throws -> Codec {
        let id = try PaneFile.peekHeader(bytes).modelID
        lock.lock()
        defer { lock.unlock() }
        if let codec = loaded[id] { return codec }
        let codec = try Codec.decoding(bytes, releases: releases)
        loaded[id] = codec
        return codec
    }
}
