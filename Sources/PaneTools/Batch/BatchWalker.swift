import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a walk of a source tree found. Paths are relative to the root, `/`-separated, and
/// every list is sorted by UTF-8 bytes so that the order is the same on every machine.
public struct BatchListing: Equatable, Sendable {
    public struct File: Equatable, Sendable {
        public let relativePath: String
        /// Bytes on disk when walked.
        public let size: Int64

        init(relativePath: String, size: Int64) {
            self.relativePath = relativePath
            self.size = size
        }
    }

    /// Regular files, symbolic links to regular files included.
    public var files: [File]
    /// Entries that are neither regular files nor directories: devices, FIFOs, sockets, broken
    /// links, and links to directories (not followed, so a tree cannot loop).
    public var others: [String]
    /// Every directory walked, `""` for the root.
    public var directories: [String]
    /// Directories below the root that could not be listed.
    public var unreadable: [BatchFailure]

    init(files: [File], others: [String] = [], directories: [String] = [""], unreadable: [BatchFailure] = []) {
        self.files = files.sorted { utf8Precedes($0.relativePath, $1.relativePath) }
        self.others = others.sorted(by: utf8Precedes)
        self.directories = directories.sorted(by: utf8Precedes)
        self.unreadable = unreadable.sorted { utf8Precedes($0.path, $1.path) }
    }
}

/// Byte order of UTF-8, which (unlike `String`'s `<`) does not merge canonically equivalent names.
func utf8Precedes(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// Joins a relative directory (`""` for the root) and a name.
func joinRelative(_ directory: String, _ name: String) -> String {
    directory.isEmpty ? name : directory + "/" + name
}

public enum BatchWalker {
    /// Walks the tree under `root`.
    /// - Parameter excluded: a directory left out if met inside the tree (the destination, when
    ///   it lies inside the source), recognised by device and inode.
    /// - Throws: `BatchError.notADirectory` or `.unreadableDirectory` for the root only; a
    ///   subdirectory that cannot be listed goes to `unreadable`.
    public static func walk(_ root: String, excluding excluded: String? = nil) throws -> BatchListing {
        guard let rootStatus = status(of: root, followingLinks: true), rootStatus.st_mode & S_IFMT == S_IFDIR else {
            throw BatchError.notADirectory(path: root)
        }
        let skip = excluded.flatMap { status(of: $0, followingLinks: true) }.map { ($0.st_dev, $0.st_ino) }
        var files: [BatchListing.File] = [], others: [String] = [], directories: [String] = [], unreadable: [BatchFailure] = []
        var pending = [""]
        while let directory = pending.popLast() {
            let absolute = directory.isEmpty ? root : root + "/" + directory
            let names: [String]
            do {
                names = try entries(of: absolute)
            } catch {
                if directory.isEmpty { throw BatchError.unreadableDirectory(path: root, reason: "\(error)") }
                unreadable.append(BatchFailure(path: directory, reason: "cannot list directory: \(error)"))
                continue
            }
            directories.append(directory)
            for name in names {
                let relative = joinRelative(directory, name)
                let path = absolute + "/" + name
                guard let entry = status(of: path, followingLinks: false) else { continue }
                switch entry.st_mode & S_IFMT {
                case S_IFDIR:
                    if let skip, skip == (entry.st_dev, entry.st_ino) { continue }
                    pending.append(relative)
                case S_IFREG:
                    files.append(BatchListing.File(relativePath: relative, size: Int64(entry.st_size)))
                case S_IFLNK:
                    if let target = status(of: path, followingLinks: true), target.st_mode & S_IFMT == S_IFREG {
                        files.append(BatchListing.File(relativePath: relative, size: Int64(target.st_size)))
                    } else {
                        others.append(relative)
                    }
                default:
                    others.append(relative)
                }
            }
        }
        return BatchListing(files: files, others: others, directories: directories, unreadable: unreadable)
    }

    /// Names in a directory, without `.` and `..`.
    /// - Throws: `POSIXErrorText` with the system's reason.
    static func entries(of path: String) throws -> [String] {
        guard let stream = opendir(path) else { throw POSIXErrorText.current }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func status(of path: String, followingLinks: Bool) -> stat? {
        var result = stat()
        return (followingLinks ? stat(path, &result) : lstat(path, &result)) == 0 ? result : nil
    }
}

/// The system's reason for the current `errno`, as an error.
struct POSIXErrorText: Error, CustomStringConvertible {
    let description: String

    static var current: POSIXErrorText { POSIXErrorText(description: String(cString: strerror(errno))) }
}
