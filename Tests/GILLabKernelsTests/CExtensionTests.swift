#if canImport(Glibc)
import Glibc
#endif
import CKernels
import CKernelsProbes
import Foundation
import Testing
import GILLabLock
@testable import GILLabKernels
import GILLabTestSupport

@Suite("A C extension releases the lock with ck_lock.h's macros")
struct CExtensionTests {
    static let values = (0..<1_000).map { Double(($0 * 37) % 101) / 7 }

    @Test("a C extension releases the lock itself above its threshold, and not below")
    func cExtensionReleases() throws {
        let thread = InterpreterLock().makeThreadState(name: "extension")
        thread.acquire()
        let held = try Kernels.relax(Self.values, passes: 3, threshold: 1_000_000)
        #expect(thread.statistics.acquisitions == 1)  // below the threshold: kept the lock
        let released = try Kernels.relax(Self.values, passes: 3, threshold: 100)
        #expect(thread.statistics.acquisitions == 2)  // released once, taken back once
        #expect(thread.holdsLock)
        #expect(held == released)
        // Each pass keeps the ends and averages the interior; check against Swift.
        var expected = Self.values
        for _ in 0..<3 {
            var next = expected
            for i in 1..<expected.count - 1 { next[i] = (expected[i - 1] + expected[i] + expected[i + 1]) / 3 }
            expected = next
        }
        #expect(released.values == expected)
        thread.detach()
    }

    @Test("the early exit takes the lock back before returning the error")
    func earlyExit() {
        let thread = InterpreterLock().makeThreadState(name: "extension")
        thread.acquire()
        var values = Self.values
        values[500] = .nan
        #expect(throws: KernelError.self) { try Kernels.relax(values, passes: 2, threshold: 0) }
        #expect(thread.holdsLock)
        #expect(thread.statistics.acquisitions == 2)
        #expect(throws: KernelError.self) { try Kernels.relax([1, 2], passes: 1) }  // validated, never released
        #expect(thread.statistics.acquisitions == 2)
        thread.detach()
    }

    @Test("errno set inside the released block survives the lock's own calls")
    func errnoPreserved() {
        let thread = InterpreterLock().makeThreadState(name: "extension")
        thread.acquire()
        CLockHooks.install()
        #expect(ck_probe_errno(EDOM) == EDOM)
        #expect(thread.statistics.acquisitions == 2)
        thread.detach()
    }

    @Test("outside any interpreter thread the macros do nothing")
    func noThreadState() throws {
        let result = Locked<Double?>(nil)
        NativeThread {  // a thread that made no thread state: nothing to release
            result.withLock { $0 = try? Kernels.relax(Self.values, passes: 2, threshold: 0).sum }
        }.join()
        #expect(result.withLock { $0 } != nil)
    }

    static func stderr(_ result: ExitTest.Result?) throws -> String {
        String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
    }


    @Test("a C extension called inside a released region traps as a nested release")
    func nestedCRelease() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "c-nested")
            thread.acquire()
            thread.withoutLock { _ = try? Kernels.relax(CExtensionTests.values, passes: 1, threshold: 0) }
        })
        #expect(stderr.contains("c-nested: nested release: CK_BEGIN_ALLOW_THREADS"), "\(stderr)")
    }
}
