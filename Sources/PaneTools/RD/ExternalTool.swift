import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A command-line program found on `PATH`, run with a time limit and its output kept in files
/// (never pipes, which a chatty tool can fill and block on).
public struct ExternalTool: Sendable {
    public let name: String
    public let url: URL

    /// The executable `name` on `PATH` (or `name` itself when it is a path), nil when there is none.
    public init?(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) {
        self.name = name
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { return nil }
            url = URL(fileURLWithPath: name)
            return
        }
        let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        guard let found = directories.lazy.map({ URL(fileURLWithPath: $0).appendingPathComponent(name) })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else { return nil }
        url = found
    }

    /// What one run printed.
    public struct Output: Sendable {
        public let stdout: String
        public let stderr: String
        public let seconds: Double
    }

    /// Runs the tool with `arguments` in `directory` and waits at most `timeout` seconds.
    /// - Throws: `RDError.toolNotStarted`, `.toolTimedOut` (the process is killed first),
    ///   `.toolFailed` with the last line of its stderr (or stdout) on a non-zero exit.
    @discardableResult
    public func run(_ arguments: [String], in directory: URL, timeout: Double = 600) throws -> Output {
        let stamp = UUID().uuidString.prefix(8)
        let outURL = directory.appendingPathComponent(".\(name)-\(stamp).out")
        let errURL = directory.appendingPathComponent(".\(name)-\(stamp).err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              FileManager.default.createFile(atPath: errURL.path, contents: nil),
              let outHandle = FileHandle(forWritingAtPath: outURL.path),
              let errHandle = FileHandle(forWritingAtPath: errURL.path)
        else { throw RDError.toolNotStarted(tool: name, reason: "cannot create files in \(directory.path)") }
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }

        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let start = DispatchTime.now()
        do {
            try process.run()
        } catch {
            throw RDError.toolNotStarted(tool: name, reason: error.localizedDescription)
        }
        if finished.wait(timeout: start + timeout) == .timedOut {
            Self.signal(process.processIdentifier, SIGTERM)
            if finished.wait(timeout: .now() + 2) == .timedOut {
                Self.signal(process.processIdentifier, SIGKILL)
                finished.wait()
            }
            throw RDError.toolTimedOut(tool: name, seconds: timeout)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let status = process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
            throw RDError.toolFailed(tool: name, status: status, message: Self.lastLine(stderr) ?? Self.lastLine(stdout) ?? "")
        }
        return Output(stdout: stdout, stderr: stderr, seconds: seconds)
    }

    /// The first line the tool prints for `arguments` (a version banner), or "" when it fails.
    public func firstLine(_ arguments: [String]) -> String {
        let directory = FileManager.default.temporaryDirectory
        guard let output = try? run(arguments, in: directory, timeout: 20) else { return "" }
        let text = output.stdout.isEmpty ? output.stderr : output.stdout
        return text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// Signals the tool and, when it leads its own process group (Foundation starts it so on
    /// Linux), everything it started: a shell script's children would otherwise outlive it.
    private static func signal(_ pid: pid_t, _ number: Int32) {
        if getpgid(pid) == pid, pid != getpgrp() { kill(-pid, number) }
        kill(pid, number)
    }

    static func lastLine(_ text: String) -> String? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let last = lines.last(where: { !$0.isEmpty }) else { return nil }
        return String(last.prefix(200))
    }
}
