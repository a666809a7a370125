import Testing
import GILLabTestSupport

/// The suites that call OpenBLAS or set its thread count, which is global to the process, nest
/// here and run one test at a time. `.serialized` orders one module's suites only; the other
/// test targets leave the thread count alone (GILLabKernelsTests sets it only in a child
/// process), so their tests may run beside these.
@Suite(.serialized) enum OpenBLASProcessWide {}
