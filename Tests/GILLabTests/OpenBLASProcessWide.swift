import Testing
import GILLabTestSupport

/// This target's suites that call OpenBLAS or set its thread count nest here: one test at a
/// time across every test target, since the thread count is global to the process.
@Suite(.openBLASProcessWide) enum OpenBLASProcessWide {}
