import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes, with the system's reason on failure.
public enum FileIO {
    public static func contents(ofFile path: String) throws -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(path) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw ImageIOError.io(path: path, reason: "not a regular file")
        }
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

    /// Writes `data` to a new file next to `path`, then renames it over `path`.
    /// The temporary file is removed on every failure.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var descriptor: Int32 = -1
        var temporary = ""
        for _ in 0..<8 where descriptor < 0 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            temporary = directory + "/." + url.lastPathComponent + ".tmp-" + suffix
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor < 0 && errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw failure(path) }
        var succeeded = false
        defer { if !succeeded { unlink(temporary) } }
        let written = data.withUnsafeBytes { writeAll(descriptor, $0) }
        let writeError = errno
        let closed = close(descriptor) == 0
        guard written, closed else { throw failure(path, errorNumber: written ? errno : writeError) }
        guard rename(temporary, path) == 0 else { throw failure(path) }
        succeeded = true
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
