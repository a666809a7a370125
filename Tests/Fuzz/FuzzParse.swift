// libFuzzer harness for the interpreter's program loader (`make fuzz`): any bytes, as source
// text, must either load (parse and compile) or be refused with a PyError, never crash, hang
// or leak. Built outside SwiftPM's test targets, against a GILLab compiled with
// -sanitize=fuzzer,address and coverage (see the Makefile).

import GILLab

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let thread = InterpreterLock().makeThreadState(name: "fuzz")
    thread.acquire()
    let interpreter = Interpreter(thread: thread)
    do {
        try interpreter.load(source)
    } catch {
        // Refused with a PyError: what malformed source must get.
    }
    thread.detach()
    return 0
}
