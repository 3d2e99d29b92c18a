/// The JSON manifest beside a model's weights (written by Training/export.py).
/// Format "pane-model", version 1.
public struct Manifest: Decodable, Sendable {
    public static let format = "pane-model"
    public static let supportedVersion = 1

    public struct Layer: Decodable, Sendable {
        public let type: String
        public let name: String?
        public let `in`: Int?
        public let out: Int?
        public let kernel: Int?
        public let stride: Int?
        public let padding: Int?
        public let output_padding: Int?
        public let channels: Int?
        public let dim: Int?
        public let heads: Int?
        /// Channels of one head (absent before head pruning: dim / heads).
        public let head_dim: Int?
        public let window: Int?
        public let mlp_hidden: Int?
        public let shifts: [Int]?
        public let mask_value: Float?
        public let layer_norm_eps: Float?
        /// Attention: which Linears are int8 ("attn.qkv", "attn.proj", "fc1", "fc2").
        public let int8: [String]?
    }

    public struct Slices: Decodable, Sendable {
        public let count: Int
        public let size: Int
        public let cc_mean: [[Layer]]
        public let cc_scale: [[Layer]]
        public let lrp: [[Layer]]
    }

    public struct ScaleTable: Decodable, Sendable {
        public let min: Float
        public let max: Float
        public let levels: Int
    }

    public struct Config: Decodable, Sendable {
        public let N: Int
        public let M: Int
        public let Nz: Int
    }

    /// The integer entropy path (`Training/entropy_int.py`).
    public struct EntropyInt: Decodable, Sendable {
        public struct IntLayer: Decodable, Sendable {
            public let type: String
            public let stride: Int
            public let padding: Int
            public let output_padding: Int
            public let relu: Bool
            public let `in`: Int
            public let out: Int
            public let kernel: Int
        }
        public let version: Int
        public let activation_max: Int
        public let mean_bits: Int
        public let lrp_bits: Int
        public let lrp_range: Int
        public let h_s: [IntLayer]
        public let slice_hidden: Int
    }

    public let format: String
    public let version: Int
    public let name: String
    public let iterations: Int
    public let config: Config
    public let lambdas: [Double]
    public let scale_table: ScaleTable
    public let g_a: [Layer]
    public let g_s: [Layer]
    public let h_a: [Layer]
    public let h_s: [Layer]
    public let slices: Slices
    public let entropy_int: EntropyInt
    public let weights: String
    /// SHA-256 of the weights file: the model's identity (its first 8 bytes are the model id in
    /// every stream). Not recomputed at load when `crc32` is present.
    public let sha256: String
    /// CRC-32 (zlib) of the weights file, as 8 hex digits: the integrity check at load. A
    /// software SHA-256 of the 16 MB int8 model took ~125 ms of a 600 ms `pane encode` on a CPU
    /// without SHA extensions; the CRC takes ~5 ms. Older manifests without it are checked by
    /// their sha256.
    public let crc32: String?
}
