import Foundation
import Testing
@testable import PaneImageIO

#if canImport(Glibc)
import Glibc
#endif

/// `FileIO.writeAtomically`: what it replaces, what it writes through, what it refuses.
@Suite struct FileIOTests {
    let directory: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pane-fileio-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    func mode(_ path: String) -> mode_t {
        var status = stat()
        precondition(lstat(path, &status) == 0)
        return status.st_mode
    }

    @Test func newFileAndReplacedFileKeepingItsPermissions() throws {
        defer { cleanUp() }
        let path = directory + "/a.bin"
        try FileIO.writeAtomically(Data([1, 2, 3]), to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        #expect(chmod(path, 0o600) == 0)
        try FileIO.writeAtomically(Data([4, 5]), to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([4, 5]))
        #expect(mode(path) & 0o7777 == 0o600)
        // Nothing is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["a.bin"])
    }

    @Test func symbolicLinksAreWrittenThroughAndKept() throws {
        defer { cleanUp() }
        let target = directory + "/target.bin", link = directory + "/link.bin"
        try FileIO.writeAtomically(Data([9]), to: target)
        #expect(symlink("target.bin", link) == 0)  // relative, read from the link's directory
        try FileIO.writeAtomically(Data([7, 7]), to: link)
        #expect(mode(link) & S_IFMT == S_IFLNK)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([7, 7]))
        // A dangling link creates its target.
        let dangling = directory + "/dangling.bin"
        #expect(symlink(directory + "/made.bin", dangling) == 0)
        try FileIO.writeAtomically(Data([5]), to: dangling)
        #expect(mode(dangling) & S_IFMT == S_IFLNK)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/made.bin")) == Data([5]))
        #expect(FileIO.exists(dangling))
    }

    @Test func fifoIsWrittenInPlace() throws {
        defer { cleanUp() }
        let fifo = directory + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        nonisolated(unsafe) var received = Data()
        let done = DispatchSemaphore(value: 0)
        Thread {
            received = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data()
            done.signal()
        }.start()
        try FileIO.writeAtomically(Data("through the pipe".utf8), to: fifo)
        done.wait()
        #expect(String(decoding: received, as: UTF8.self) == "through the pipe")
        #expect(mode(fifo) & S_IFMT == S_IFIFO)
    }

    @Test func characterDeviceIsWrittenInPlace() throws {
        try FileIO.writeAtomically(Data(repeating: 1, count: 100), to: "/dev/null")
        #expect(mode("/dev/null") & S_IFMT == S_IFCHR)
    }

    @Test func directoryIsRefusedWithTheReason() throws {
        defer { cleanUp() }
        #expect {
            try FileIO.writeAtomically(Data([1]), to: directory)
        } throws: { error in
            "\(error)".contains("not a regular file, character device or FIFO")
        }
    }

    @Test func sameFileSeesThroughLinks() throws {
        defer { cleanUp() }
        let a = directory + "/a", b = directory + "/b"
        try FileIO.writeAtomically(Data([1]), to: a)
        #expect(symlink(a, b) == 0)
        #expect(FileIO.sameFile(a, b))
        #expect(!FileIO.sameFile(a, directory + "/missing"))
        #expect(!FileIO.sameFile("-", "-"))
    }
}

extension FileIOTests {
    @Test func aLegalLongNameIsWritten() throws {
        defer { cleanUp() }
        let name = String(repeating: "é", count: 120) + ".png"  // 244 bytes
        #expect(name.utf8.count == 244)
        try FileIO.writeAtomically(Data([1, 2]), to: directory + "/" + name)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [name])
    }
}
