import CZlib

/// Lossless coding of an alpha plane for the alpha section: zlib (RFC 1950) at level 9 with
/// the default window, memory level and strategy, byte-identical to Python's
/// `zlib.compress(plane, 9)` with the same zlib.
public enum AlphaCodec {
    /// The zlib stream of `plane` (width × height alpha bytes, row-major).
    public static func compress(_ plane: [UInt8]) -> [UInt8] { Zlib.compress(plane) }

    /// The `count` alpha bytes held by a zlib stream. Output grows with what the stream
    /// actually yields and never past `count + 1` bytes, so a hostile `count` or stream cannot
    /// make it allocate more than the data justifies.
    /// - Throws: `.truncated` when the stream ends early, `.corrupt` for invalid zlib data, a
    ///   plane of another size than `count`, or bytes after the stream.
    public static func decompress(_ data: [UInt8], count: Int) throws -> [UInt8] {
        try Zlib.inflate(data, count: count, what: "alpha plane")
    }
}

/// zlib (RFC 1950) for the container's payloads: level 9 with the default window, memory level
/// and strategy (byte-identical to Python's `zlib.compress(data, 9)` with the same zlib), and
/// inflating that never allocates past what the caller expects.
enum Zlib {
    /// Level 9, window 15, memory level 8 and the `Z_FILTERED` strategy: Python's
    /// `zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_FILTERED)`.
    static func compressFiltered(_ data: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, 9, Z_DEFLATED, 15, 8, Z_FILTERED, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            preconditionFailure("zlib deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))))
        let produced = data.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib deflate failed with status \(status)")
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output[..<produced])
    }

    static func compress(_ plane: [UInt8]) -> [UInt8] {
        var capacity = compressBound(uLong(plane.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            plane.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &capacity, input.baseAddress, uLong(input.count), 9)
            }
        }
        // With a compressBound-sized buffer only running out of memory can fail.
        precondition(status == Z_OK, "zlib compress2 failed with status \(status)")
        output.removeSubrange(Int(capacity)...)
        return output
    }

    /// The bytes of a zlib stream: exactly `count` of them, or (`atMost`) up to `count`.
    static func inflate(_ data: [UInt8], count: Int, atMost: Bool = false, what: String) throws(BitstreamError) -> [UInt8] {
        guard count >= 0, count < Int.max else { throw .corrupt("\(what) of impossible size \(count)") }
        var stream = z_stream()
        guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("\(what): zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }

        let limit = count + 1  // one byte past the plane tells "too large" from "exact"
        var output = [UInt8](repeating: 0, count: min(limit, 1 << 16))
        var produced = 0
        return try data.withUnsafeBufferPointer { input throws(BitstreamError) -> [UInt8] in
            var consumed = 0
            while true {
                if produced == output.count {
                    guard output.count < limit else {
                        throw .corrupt("\(what) holds more than \(atMost ? "the limit of " : "the ")\(count) bytes\(atMost ? "" : " the header implies")")
                    }
                    output += [UInt8](repeating: 0, count: min(limit, output.count * 2) - output.count)
                }
                let chunk = min(input.count - consumed, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0 + consumed })
                stream.avail_in = UInt32(chunk)
                let (status, written) = output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = UInt32(min(out.count - produced, Int(UInt32.max)))
                    let before = stream.avail_out
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, Int(before - stream.avail_out))
                }
                consumed += chunk - Int(stream.avail_in)
                produced += written
                switch status {
                case Z_STREAM_END:
                    guard produced <= count else {
                        throw .corrupt("\(what) holds more than \(atMost ? "the limit of " : "the ")\(count) bytes\(atMost ? "" : " the header implies")")
                    }
                    guard consumed == input.count else {
                        throw .corrupt("\(what): \(input.count - consumed) bytes after the zlib stream")
                    }
                    guard produced == count || atMost else {
                        throw .corrupt("\(what) holds \(produced) bytes; the header implies \(count)")
                    }
                    output.removeSubrange(produced...)
                    return output
                case Z_OK:
                    continue
                case Z_BUF_ERROR where consumed == input.count:
                    throw .truncated
                case Z_BUF_ERROR:
                    continue  // output was full; the loop grows it
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw .corrupt("\(what): \(reason)")
                }
            }
        }
    }
}

/// The payload of a metadata section (`Format.swift`): the blob compressed with zlib at level 9.
public enum MetadataCodec {
    public static func compress(_ blob: [UInt8]) -> [UInt8] { Zlib.compress(blob) }

    /// The blob of a payload, at most 16 MiB.
    /// - Throws: `.truncated` / `.corrupt` for invalid zlib data or a blob over the limit.
    public static func decompress(_ payload: [UInt8]) throws -> [UInt8] {
        try Zlib.inflate(payload, count: Format.maxMetadataBytes, atMost: true, what: "metadata")
    }
}
