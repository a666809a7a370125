// libFuzzer harness for `gillab exec`'s load-and-compile path (`make fuzz`): any bytes, as a
// program's text, must either compile (lexer, parser, the subset's checks, the compiler, with
// the lab's `gillab` module importable) or be refused with a PyError naming file:line:column,
// never crash, hang or leak. Compile only: a fuzzed program that runs could sleep or spin for
// ever (its running is covered by the tests). Built outside SwiftPM's test targets, against a
// GILLab compiled with -sanitize=fuzzer,address and coverage (see the Makefile).

import GILLab

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let error = ProgramRunner.check(ProgramPlan(source: source, filename: "fuzz.py")) {
        // Refused: what malformed source must get, with a position for a syntax error.
        _ = error.report
    }
    return 0
}
