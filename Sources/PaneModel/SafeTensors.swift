import Foundation

/// The read-only bytes of a weights file: a private mapping of the file (the model loader: no
/// copy into fresh memory, which cost a third of a model load in page faults), or a copy of an
/// array (tests, fuzzing). The loader copies every tensor out before it returns, so a mapping
/// lives only as long as one load. The file must not be rewritten in place meanwhile (a mapping
/// sees the change, and a shortened file faults): `Training/export.py` writes a new file and
/// renames it over the old one, which leaves a running load on the old contents.
public final class WeightBytes: @unchecked Sendable {
    public let buffer: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer
    private let mapped: Bool

    public init(_ bytes: [UInt8]) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { if let src = $0.baseAddress { memory.copyMemory(from: src, byteCount: $0.count) } }
        base = memory
        buffer = UnsafeRawBufferPointer(start: memory, count: bytes.count)
        mapped = false
    }

    /// Maps the file at `url` (reading it whole where it cannot be mapped, e.g. when empty).
    public init(contentsOf url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw ModelError.unreadable(url.path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= 0 else {
            throw ModelError.unreadable(url.path, String(cString: strerror(errno)))
        }
        let size = Int(info.st_size)
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_POPULATE   // fault the whole file in with one call
        #else
        let flags = MAP_PRIVATE
        #endif
        if size > 0, let p = mmap(nil, size, PROT_READ, flags, fd, 0), p != MAP_FAILED {
            base = p
            buffer = UnsafeRawBufferPointer(start: p, count: size)
            mapped = true
            return
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
        var done = 0, failure: Int32 = 0
        while done < size {
            let n = read(fd, memory + done, size - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = n < 0 ? errno : 0; break }
            done += n
        }
        guard failure == 0, done == size else {
            memory.deallocate()
            throw ModelError.unreadable(url.path, failure != 0 ? String(cString: strerror(failure)) : "file changed while read")
        }
        base = memory
        buffer = UnsafeRawBufferPointer(start: memory, count: size)
        mapped = false
    }

    deinit {
        if mapped { munmap(base, buffer.count) } else { base.deallocate() }
    }
}

/// A parsed safetensors file (https://huggingface.co/docs/safetensors): an
/// 8-byte little-endian header length, a JSON header, then raw little-endian data.
/// Only the dtypes Pane uses are accepted: F32, I64, I32, I16 and I8.
public struct SafeTensors: Sendable {
    public struct Entry: Sendable {
        public let dtype: String
        public let shape: [Int]
        let range: Range<Int>
    }

    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let storage: WeightBytes

    /// Parses `bytes`, checking every offset and size against the buffer.
    public init(bytes: [UInt8], source: String = "safetensors") throws {
        try self.init(storage: WeightBytes(bytes), source: source)
    }

    /// Parses the bytes of `storage` (kept alive with this value), checking every offset and size.
    public init(storage: WeightBytes, source: String = "safetensors") throws {
        let bytes = storage.buffer
        guard bytes.count >= 8 else { throw ModelError.corrupt(source, "file shorter than its 8-byte header length") }
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(bytes[i]) << (8 * i) }
        guard headerLength > 0, headerLength <= 100_000_000, 8 + headerLength <= bytes.count else {
            throw ModelError.corrupt(source, "header length \(headerLength) does not fit a \(bytes.count)-byte file")
        }
        let header = Data(bytes[8..<(8 + headerLength)])
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw ModelError.corrupt(source, "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw ModelError.corrupt(source, "tensor '\(name)' has a malformed header entry")
            }
            guard let width = ["F32": 4, "I32": 4, "I16": 2, "I64": 8, "I8": 1][dtype] else {
                throw ModelError.corrupt(source, "tensor '\(name)' has dtype \(dtype); only F32, I64, I32, I16 and I8 are supported")
            }
            guard shape.count <= 8, shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else {
                throw ModelError.corrupt(source, "tensor '\(name)' has an impossible shape \(shape)")
            }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max / 16 : $0 * $1 }
            guard offsets[0] >= 0, offsets[1] >= offsets[0],
                  offsets[1] - offsets[0] == count * width, dataStart + offsets[1] <= bytes.count else {
                throw ModelError.corrupt(source, "tensor '\(name)' has offsets \(offsets) that do not match shape \(shape)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        self.entries = entries
        self.metadata = metadata
        self.storage = storage
    }

    public init(contentsOf url: URL) throws {
        try self.init(storage: WeightBytes(contentsOf: url), source: url.lastPathComponent)
    }

    /// The float32 values of `name`.
    public func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        try values(name, dtype: "F32", as: Float.self)
    }

    /// The int32 values of `name`.
    public func ints(_ name: String) throws -> (shape: [Int], values: [Int32]) {
        try values(name, dtype: "I32", as: Int32.self)
    }

    /// The int16 values of `name`.
    public func int16s(_ name: String) throws -> (shape: [Int], values: [Int16]) {
        try values(name, dtype: "I16", as: Int16.self)
    }

    /// The int8 values of `name`.
    public func int8s(_ name: String) throws -> (shape: [Int], values: [Int8]) {
        try values(name, dtype: "I8", as: Int8.self)
    }

    /// The int64 values of `name`.
    public func int64s(_ name: String) throws -> (shape: [Int], values: [Int64]) {
        try values(name, dtype: "I64", as: Int64.self)
    }

    /// The little-endian bytes of `name` as stored.
    func rawBytes(_ name: String) throws -> [UInt8] {
        guard let e = entries[name] else { throw ModelError.missingTensor(name) }
        return Array(storage.buffer[e.range])
    }

    /// The values of `name`, which must be stored as `dtype` (whose width is `T`'s).
    private func values<T: BitwiseCopyable>(_ name: String, dtype: String, as _: T.Type) throws -> (shape: [Int], values: [T]) {
        guard let e = entries[name] else { throw ModelError.missingTensor(name) }
        guard e.dtype == dtype else { throw ModelError.wrongType(name, expected: dtype, actual: e.dtype) }
        let count = e.range.count / MemoryLayout<T>.stride
        let out = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: storage.buffer[e.range]))
            initialized = count
        }
        return (e.shape, out)
    }
}
