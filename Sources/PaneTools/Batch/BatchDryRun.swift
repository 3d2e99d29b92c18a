/// What a run would do with an item, judged from the destination as it is now.
public enum BatchIntent: Equatable, Sendable {
    case write
    /// An output is there but does not parse (`.pane`) or decode (PNG): it will be redone.
    case replaceIncomplete
    case skipExisting
}

extension BatchPlan {
    func intent(of item: BatchItem, destination: String) -> BatchIntent {
        let output = destination + "/" + item.output
        guard BatchWalker.status(of: output, followingLinks: false) != nil else { return .write }
        return BatchRunner.isComplete(output, mode: mode) ? .skipExisting : .replaceIncomplete
    }
}

/// The counts a dry run reports: what a run with the same arguments would do now.
public struct BatchDryRun: Sendable {
    public let plan: BatchPlan
    /// Every item with its intent, in plan order.
    public let intents: [(item: BatchItem, intent: BatchIntent)]
    /// Leftover temporary files a run would remove (relative to the destination).
    public let leftovers: [String]

    public init(plan: BatchPlan, destination: String) {
        self.plan = plan
        intents = plan.items.map { ($0, plan.intent(of: $0, destination: destination)) }
        leftovers = BatchTemporaryFiles.leftovers(of: plan, under: destination)
    }

    public func count(_ intent: BatchIntent) -> Int { intents.filter { $0.intent == intent }.count }

    public var inputBytesToDo: Int64 { intents.filter { $0.intent != .skipExisting }.reduce(0) { $0 + $1.item.inputBytes } }

    private var verb: String { plan.mode == .decode ? "decode" : "encode" }

    /// One line per item and leftover: `encode a/b.png → a/b.pane`, `redo …`, `skip …`, `remove …`.
    public var lines: [String] {
        intents.map { item, intent in
            switch intent {
            case .write: return "\(verb) \(item.input) → \(item.output)"
            case .replaceIncomplete: return "redo \(item.input) → \(item.output) (incomplete output)"
            case .skipExisting: return "skip \(item.input) (\(item.output) is complete)"
            }
        } + leftovers.map { "remove \($0)" }
    }

    public var text: String {
        let toDo = count(.write) + count(.replaceIncomplete)
        var line = "dry run: \(plan.items.count) files: \(toDo) to \(verb) (\(BatchSummary.bytes(inputBytesToDo)))"
        if count(.replaceIncomplete) > 0 { line += ", \(count(.replaceIncomplete)) of them replacing incomplete outputs" }
        line += "; \(count(.skipExisting)) already done, \(plan.failures.count) failed; \(plan.nonInputs.count) non-image skipped"
        if plan.shard.count > 1 { line += "; shard \(plan.shard), \(plan.otherShards) files in other shards" }
        if !leftovers.isEmpty { line += "; \(leftovers.count) leftover temporary files to remove" }
        return line
    }

    public var json: String {
        let failures = plan.failures.map { "{\"path\": \(jsonString($0.path)), \"reason\": \(jsonString($0.reason))}" }
        let fields: [(String, String)] = [
            ("dry_run", "true"),
            ("mode", jsonString(verb)),
            ("shard", jsonString(plan.shard.description)),
            ("files", "\(plan.items.count)"),
            ("to_do", "\(count(.write) + count(.replaceIncomplete))"),
            ("replace_incomplete", "\(count(.replaceIncomplete))"),
            ("skipped_existing", "\(count(.skipExisting))"),
            ("skipped_non_image", "\(plan.nonInputs.count)"),
            ("other_shards", "\(plan.otherShards)"),
            ("failed", "\(plan.failures.count)"),
            ("failures", "[" + failures.joined(separator: ", ") + "]"),
            ("temporary_files_to_remove", "\(leftovers.count)"),
            ("input_bytes_to_do", "\(inputBytesToDo)"),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}
