import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Leftovers of `FileIO.writeAtomically` from a run that was killed: it writes `.NAME.tmp-SUFFIX`
/// (SUFFIX a random UInt64 in base 36) beside NAME and renames it over NAME once complete.
enum BatchTemporaryFiles {
    /// `.c.pane.tmp-1x2y` → `c.pane`; nil for any name not of exactly that form.
    static func target(ofTemporaryName name: String) -> String? {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards),
              marker.lowerBound > name.startIndex else { return nil }
        let suffix = name[marker.upperBound...]
        let target = name[name.index(after: name.startIndex)..<marker.lowerBound]
        guard !target.isEmpty, (1...13).contains(suffix.count),
              suffix.utf8.allSatisfy({ (48...57).contains($0) || (97...122).contains($0) }) else { return nil }
        return String(target)
    }

    /// Leftover temporary files under `destination`, in the directories that mirror the
    /// source's, that `plan`'s shard may remove (see `BatchPlan.mayRemoveTemporaryFile(of:)`);
    /// relative paths, sorted.
    static func leftovers(of plan: BatchPlan, under destination: String) -> [String] {
        var found: [String] = []
        for directory in plan.directories {
            let absolute = directory.isEmpty ? destination : destination + "/" + directory
            guard let names = try? BatchWalker.entries(of: absolute) else { continue }
            for name in names {
                guard let target = target(ofTemporaryName: name),
                      plan.mayRemoveTemporaryFile(of: joinRelative(directory, target)),
                      let status = BatchWalker.status(of: absolute + "/" + name, followingLinks: false),
                      status.st_mode & S_IFMT == S_IFREG else { continue }
                found.append(joinRelative(directory, name))
            }
        }
        return found.sorted(by: utf8Precedes)
    }
}
