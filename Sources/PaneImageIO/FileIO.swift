import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes, with the system's reason on failure.
public enum FileIO {
    /// The whole file at `path`; `-` reads standard input to its end.
    /// - Throws: `ImageIOError.io` when it cannot be read or is not a regular file (or `-`).
    public static func contents(ofFile path: String) throws -> Data {
        if path == standardStream { return try readAll(STDIN_FILENO, reportedAs: "standard input") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(path) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw ImageIOError.io(path: path, reason: "not a regular file")
        }
        return try readAll(descriptor, reportedAs: path)
    }

    private static func readAll(_ descriptor: Int32, reportedAs path: String) throws -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path)
            }
            if count == 0 { return data }
            data.append(contentsOf: chunk[..<count])
        }
    }

    /// What a temporary file's name holds after ".NAME": this marker, the writing process's id, "-"
    /// and a random base-36 suffix. The id tells a leftover of a dead process (which a later
    /// `pane batch` may remove) from a file another run is still writing (which it must not).
    public static let temporaryMarker = ".tmp-"

    /// The path that means standard input (to `contents(ofFile:)`) or standard output (to
    /// `writeAtomically(_:to:)`), as cwebp and most Unix tools read it.
    public static let standardStream = "-"

    /// Writes `data` to `path` so that a failure never leaves a partial or replaced file, and
    /// nothing but the named file changes:
    /// - `-`: standard output.
    /// - absent, or a regular file: a new file beside it (`.NAME.tmp-SUFFIX`), fsync'd, renamed
    ///   over `path`, the directory fsync'd; a file replaced keeps its permission bits (and its
    ///   owner, when run as root).
    /// - a symbolic link: written through to what it points at (by these same rules), the link kept.
    /// - a character device or FIFO (`/dev/null`, `/dev/stdout` on a terminal, a named pipe):
    ///   written in place, the node kept.
    /// - anything else (a directory, a block device, a socket): refused.
    /// - Throws: `ImageIOError.io` naming `path` and the system's reason.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        if path == standardStream {
            guard data.withUnsafeBytes({ writeAll(STDOUT_FILENO, $0) }) else { throw failure("standard output") }
            return
        }
        let target = try resolvingLinks(path)
        var status = stat()
        if lstat(target, &status) != 0 {
            guard errno == ENOENT else { throw failure(path) }
            return try replace(target, with: data, keeping: nil, reportedAs: path)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            try replace(target, with: data, keeping: status, reportedAs: path)
        case S_IFCHR, S_IFIFO:
            let descriptor = open(target, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            guard descriptor >= 0 else { throw failure(path) }
            let written = data.withUnsafeBytes { writeAll(descriptor, $0) }
            let writeError = errno
            let closed = close(descriptor) == 0
            guard written, closed else { throw failure(path, errorNumber: written ? errno : writeError) }
        default:
            throw ImageIOError.io(path: path, reason: "not a regular file, character device or FIFO")
        }
    }

    /// Whether `a` and `b` name the same existing file (same device and inode, links followed):
    /// the check that keeps a command from writing over its own input.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        guard a != standardStream, b != standardStream else { return false }
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Whether something exists at `path` that a write would replace or write into: a file, a
    /// device, a FIFO, or a symbolic link (dangling ones included, since the write creates their target).
    public static func exists(_ path: String) -> Bool {
        guard path != standardStream else { return false }
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// `path` with symbolic links in its last component followed until it names a non-link or
    /// nothing (a dangling link's target is created); relative targets are read from the link's
    /// directory. The directories above are left as they are: `rename` goes through them anyway.
    private static func resolvingLinks(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count >= 0 else { throw failure(path) }
            let destination = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if destination.hasPrefix("/") {
                current = destination
            } else {
                current = URL(fileURLWithPath: current).deletingLastPathComponent().path + "/" + destination
            }
        }
        throw ImageIOError.io(path: path, reason: "too many levels of symbolic links")
    }

    /// The temporary-file-and-rename write of a regular (or absent) file at `target`.
    private static func replace(_ target: String, with data: Data, keeping old: stat?, reportedAs path: String) throws {
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        var descriptor: Int32 = -1
        var temporary = ""
        // ".NAME.tmp-PID-SUFFIX" (`temporaryMarker`) must fit a file name (255 bytes) when NAME
        // does: long names are cut.
        var base = url.lastPathComponent
        while base.utf8.count > 255 - 30 { base.removeLast() }
        for _ in 0..<8 where descriptor < 0 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            temporary = directory + "/." + base + temporaryMarker + String(getpid()) + "-" + suffix
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor < 0 && errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw failure(path) }
        var succeeded = false
        defer { if !succeeded { unlink(temporary) } }
        var ok = data.withUnsafeBytes { writeAll(descriptor, $0) }
        if ok, let old {
            ok = fchmod(descriptor, old.st_mode & 0o7777) == 0
            if ok && geteuid() == 0 { ok = fchown(descriptor, old.st_uid, old.st_gid) == 0 }
        }
        if ok { ok = fsync(descriptor) == 0 }
        let writeError = errno
        let closed = close(descriptor) == 0
        guard ok, closed else { throw failure(path, errorNumber: ok ? errno : writeError) }
        guard rename(temporary, target) == 0 else { throw failure(path) }
        succeeded = true
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { throw failure(path) }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else { throw failure(path) }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += count
        }
        return true
    }

    /// The `.io` error for `errorNumber`, by default the current `errno`.
    private static func failure(_ path: String, errorNumber: Int32 = errno) -> ImageIOError {
        .io(path: path, reason: String(cString: strerror(errorNumber)))
    }
}
