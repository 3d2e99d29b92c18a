import Foundation
import Pane
import PaneFuzz

// Built two ways (Fuzz/run):
// - plain `swift build`: a tool that replays files through a target (`pane-fuzz TARGET FILE…`);
// - with `-sanitize=fuzzer -D PANE_FUZZ`: libFuzzer's driver over the target named by
//   $PANE_FUZZ_TARGET. SwiftPM links executables with main renamed to `pane_fuzz_main`,
//   so that symbol starts libFuzzer (LLVMFuzzerRunDriver) instead of libFuzzer's own main.

#if PANE_FUZZ
private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["PANE_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("set PANE_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}()

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>,
                       _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("pane_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = target
    Codec.threads = 1  // one input at a time; libFuzzer's -jobs/-workers scale out instead
    var count = argc, arguments = argv
    return runDriver(&count, &arguments) { data, size in
        target.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
}
#else
@main
enum Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let first = args.first, let target = FuzzTarget(rawValue: first), args.count > 1 else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            print("usage: pane-fuzz \(names) FILE...   (replays files; Fuzz/run builds the libFuzzer binary)")
            exit(args.isEmpty ? 0 : 2)
        }
        for path in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(1)
            }
            target.run([UInt8](data))
        }
        print("\(args.count - 1) inputs ran through \(target.rawValue) without a crash")
    }
}
#endif
