import ArgumentParser
import Foundation
import Pane

/// The `pane` command line: a learned image codec for CPUs.
@main
struct PaneCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "pane",
        abstract: "Pane: a learned image codec (window attention + hyperprior) that runs on ordinary CPUs.",
        version: version,
        subcommands: [Encode.self, Decode.self, Info.self, RD.self, Batch.self, Bench.self, Preview.self]
    )
}

/// Options every subcommand that runs the network shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Model: a release name (Models/releases.json) or a manifest path (default: $PANE_MODEL, else the default release; decode: the stream's release).",
        valueName: "release-or-manifest"))
    var model: String?

    @Option(name: .long, help: "Threads for the network (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// The model to encode with.
    func loadCodec() throws -> Codec {
        if let threads { Codec.threads = threads }
        return try Codec.named(model)
    }

    /// The model to decode `bytes` with: the one named, else the stream's release.
    func loadCodec(decoding bytes: [UInt8]) throws -> Codec {
        if let threads { Codec.threads = threads }
        return try Codec.forDecoding(bytes, model: model)
    }
}

/// Writes one line to standard error.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
