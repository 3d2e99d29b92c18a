import CZlib
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Small hostile inputs cannot make pane allocate gigabytes: each case runs in a child process
/// whose peak memory (ru_maxrss from wait4) is measured.
@Suite struct BoundedMemoryTests {
    /// Runs `pane` with `arguments` under a small Python parent, which reports the child's peak
    /// resident memory (RUSAGE_CHILDREN). Not spawned from the test process itself: Linux carries a
    /// vfork parent's high-water mark into the child's ru_maxrss, and this process is large.
    static func measured(_ arguments: [String]) throws -> (status: Int32, peakKB: Int, stderr: String) {
        let script = """
            import resource, subprocess, sys
            r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            sys.stderr.buffer.write(r.stderr)
            print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, CLI.executable.path] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        nonisolated(unsafe) var e = Data()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { e = err.fileHandleForReading.readDataToEndOfFile() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let fields = String(decoding: o, as: UTF8.self).split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        guard process.terminationStatus == 0, fields.count == 2 else {
            throw POSIXError(.EIO)
        }
        return (Int32(fields[0]), fields[1], String(decoding: e, as: UTF8.self))
    }

    static func chunk(_ type: String, _ data: [UInt8], claimedLength: UInt32? = nil) -> [UInt8] {
        let length = claimedLength ?? UInt32(data.count)
        let typed = Array(type.utf8) + data
        let crc = UInt32(typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        return be(length) + typed + be(crc)
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pane-mem-\(UUID().uuidString)-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let png = [UInt8](try! Data(contentsOf: CLI.root.appendingPathComponent("Tests/PaneImageIOTests/Fixtures/rgb8.png")))

    /// A text chunk whose length field says 2 GiB in a 549 KB file (libpng alone allocated 2.1 GB).
    @Test(arguments: ["tEXt", "zTXt", "iTXt", "sPLT"])
    func chunkLengthBeyondTheFileIsRefusedSmall(_ type: String) throws {
        let body = [UInt8](repeating: 0x78, count: 549_000)
        let hostile = Array(Self.png[..<33]) + Self.chunk(type, body, claimedLength: 0x7FFF_FFFF) + Array(Self.png[33...])
        let path = try write(hostile, "len.png")
        defer { unlink(path) }
        let r = try Self.measured(["encode", path, "-o", "/dev/null", "-f"])
        #expect(r.status == 1 && r.stderr.contains("truncated PNG"), "status \(r.status): \(r.stderr)")
        #expect(r.peakKB < 100_000, "peak \(r.peakKB) kB")
    }

    /// A zTXt chunk of 256 kB that inflates to 256 MiB: libpng is held to 64 MB a chunk.
    @Test func compressedTextBombStaysSmall() throws {
        let stream = [UInt8]("k".utf8) + [0, 0] + Self.zlibOfZeros(megabytes: 256)
        let hostile = Array(Self.png[..<33]) + Self.chunk("zTXt", stream) + Array(Self.png[33...])
        let path = try write(hostile, "bomb.png")
        defer { unlink(path) }
        let r = try Self.measured(["encode", path, "-o", "/dev/null", "-f"])
        #expect(r.status == 0 || r.stderr.split(separator: "\n").count == 1, "status \(r.status): \(r.stderr)")
        #expect(r.peakKB < 200_000, "peak \(r.peakKB) kB")
    }
}

extension BoundedMemoryTests {
    /// A zlib stream of `megabytes` MiB of zeros, deflated a MiB at a time (about 1 kB per MiB).
    static func zlibOfZeros(megabytes: Int) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit_(&stream, 9, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for block in 0..<megabytes {
            zeros.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                repeat {
                    buffer.withUnsafeMutableBufferPointer { out in
                        stream.next_out = out.baseAddress
                        stream.avail_out = UInt32(out.count)
                        _ = deflate(&stream, block == megabytes - 1 ? Z_FINISH : Z_NO_FLUSH)
                        output += out[..<(out.count - Int(stream.avail_out))]
                    }
                } while stream.avail_out == 0 || (block == megabytes - 1 && stream.avail_in > 0)
            }
        }
        return output
    }
}
