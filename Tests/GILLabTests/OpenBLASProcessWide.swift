import Testing
import GILLabTestSupport

/// The suites that call OpenBLAS or set its thread count, which is global to the process, nest
/// here and run one test at a time, and never beside GILLabKernelsTests' (`.openBLASExclusive`).
@Suite(.serialized, .openBLASExclusive) enum OpenBLASProcessWide {}
