import Foundation

/// Counts a sweep's finished trials and estimates the time left from each codec's own pace
/// (a Pane trial takes a thousand times a JPEG one, so one average pace would mislead).
public final class RDProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let jobs: Int
    private var remaining: [String: Int]
    private var spent: [String: (seconds: Double, trials: Int)] = [:]
    private var lastTrial = ""
    public let total: Int
    public private(set) var done = 0

    public init(sweep: RDSweep, images: Int) {
        jobs = sweep.jobs
        remaining = Dictionary(sweep.codecs.map { ($0.name, $0.settings.count * images) }, uniquingKeysWith: +)
        total = sweep.trialCount(images: images)
    }

    /// Takes a trial into account; other events change nothing.
    public func record(_ event: RDEvent) {
        guard case let .trial(codec, setting, image, seconds) = event else { return }
        lock.withLock {
            done += 1
            remaining[codec, default: 1] -= 1
            let sofar = spent[codec] ?? (0, 0)
            spent[codec] = (sofar.seconds + seconds, sofar.trials + 1)
            lastTrial = "\(codec) \(settingText(setting)) \(image)"
        }
    }

    /// Seconds left, nil until every codec with trials left has finished one.
    public var secondsLeft: Double? {
        lock.withLock {
            var total = 0.0
            for (codec, count) in remaining where count > 0 {
                guard let pace = spent[codec], pace.trials > 0 else { return nil }
                total += Double(count) * pace.seconds / Double(pace.trials)
            }
            // Images run `jobs` at a time, so the work left divides among them.
            return total / Double(jobs)
        }
    }

    /// One line for a terminal: `[#######-------]  40%  120/300  ETA 3m05s  pane 60 kodim03.png`.
    public func line(barWidth: Int = 28) -> String {
        let (done, last) = lock.withLock { (self.done, lastTrial) }
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled)
        let eta = secondsLeft.map(Self.duration) ?? "--"
        return "[\(bar)] \(String(format: "%3.0f", fraction * 100))%  \(done)/\(total)  ETA \(eta)  \(last)"
    }

    /// "45s", "3m05s", "1h02m".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
