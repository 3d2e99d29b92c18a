/// A feature map: `channels` planes of `height × width` floats, stored planar (CHW).
///
/// Planar storage makes a convolution one matrix product (weights × im2col
/// columns) and a channel concatenation a plain append.
public struct Tensor: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var data: [Float]

    public init(channels: Int, height: Int, width: Int, data: [Float]) {
        precondition(data.count == channels * height * width, "tensor data does not match its shape")
        self.channels = channels
        self.height = height
        self.width = width
        self.data = data
    }

    public init(zeros channels: Int, height: Int, width: Int) {
        self.init(channels: channels, height: height, width: width,
                  data: [Float](repeating: 0, count: channels * height * width))
    }

    public var planeSize: Int { height * width }

    /// Channels `range` as a new tensor.
    public func channels(_ range: Range<Int>) -> Tensor {
        Tensor(channels: range.count, height: height, width: width,
               data: Array(data[(range.lowerBound * planeSize)..<(range.upperBound * planeSize)]))
    }

    /// Concatenation along the channel axis.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty)
        let h = parts[0].height, w = parts[0].width
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.data.count })
        for p in parts {
            precondition(p.height == h && p.width == w, "concatenated tensors differ in size")
            data.append(contentsOf: p.data)
        }
        return Tensor(channels: parts.reduce(0) { $0 + $1.channels }, height: h, width: w, data: data)
    }

    /// Largest absolute element (0 for an empty tensor).
    public var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }
}

extension Array where Element: BitwiseCopyable {
    /// An array of `count` elements whose contents are unspecified, for buffers the caller
    /// overwrites completely (GEMM outputs, im2col columns): it skips the zero fill, which on
    /// full-resolution tensors costs as much as an element-wise pass.
    static func scratch(count: Int) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}
