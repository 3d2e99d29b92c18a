import Foundation
import PaneImageIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Leftovers of `FileIO.writeAtomically` from a run that was killed: it writes
/// `.NAME.tmp-PID-SUFFIX` (PID the writer's process id in decimal, SUFFIX a random UInt64 in base
/// 36) beside NAME and renames it over NAME once complete. Only a file of exactly that form whose
/// writer is no longer running is a leftover: another run's file in flight and a user's own
/// `.thesis.tex.tmp-final` are never touched.
enum BatchTemporaryFiles {
    /// `.c.pane.tmp-4242-1x2y` → (`c.pane`, 4242); nil for any name not of exactly that form.
    static func parse(temporaryName name: String) -> (target: String, writer: pid_t)? {
        guard name.hasPrefix("."), let marker = name.range(of: FileIO.temporaryMarker, options: .backwards),
              marker.lowerBound > name.startIndex else { return nil }
        let parts = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        let target = name[name.index(after: name.startIndex)..<marker.lowerBound]
        guard !target.isEmpty, parts.count == 2, (1...10).contains(parts[0].count),
              parts[0].utf8.allSatisfy({ (48...57).contains($0) }), let pid = pid_t(parts[0]), pid > 0,
              (1...13).contains(parts[1].count),
              parts[1].utf8.allSatisfy({ (48...57).contains($0) || (97...122).contains($0) }) else { return nil }
        return (String(target), pid)
    }

    /// `.c.pane.tmp-4242-1x2y` → `c.pane`.
    static func target(ofTemporaryName name: String) -> String? { parse(temporaryName: name)?.target }

    /// Whether process `pid` is gone (so its temporary files are leftovers). A process that exists
    /// but is not ours (EPERM) counts as running.
    static func isGone(_ pid: pid_t) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }

    /// Leftover temporary files under `destination`, in the directories that mirror the
    /// source's, that `plan`'s shard may remove (see `BatchPlan.mayRemoveTemporaryFile(of:)`);
    /// relative paths, sorted.
    static func leftovers(of plan: BatchPlan, under destination: String) -> [String] {
        var found: [String] = []
        for directory in plan.directories {
            let absolute = directory.isEmpty ? destination : destination + "/" + directory
            guard let names = try? BatchWalker.entries(of: absolute) else { continue }
            for name in names {
                guard let (target, writer) = parse(temporaryName: name), isGone(writer),
                      plan.mayRemoveTemporaryFile(of: joinRelative(directory, target)),
                      let status = BatchWalker.status(of: absolute + "/" + name, followingLinks: false),
                      status.st_mode & S_IFMT == S_IFREG else { continue }
                found.append(joinRelative(directory, name))
            }
        }
        return found.sorted(by: utf8Precedes)
    }
}
