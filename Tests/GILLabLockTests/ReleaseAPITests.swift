#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import GILLabLock
import GILLabTestSupport

@Suite("Release APIs: the token, misuse caught")
struct ReleaseAPITests {
    @Test("releaseLock() gives the lock up until reacquire(): another thread takes it meanwhile")
    func tokenReleases() {
        let lock = InterpreterLock()
        let thread = lock.makeThreadState(name: "main")
        thread.acquire()
        let released = thread.releaseLock()
        #expect(!thread.holdsLock)
        let other = NativeThread {
            let visitor = lock.makeThreadState(name: "visitor")
            visitor.acquire()  // would wait forever if the token had not released
            visitor.detach()
        }
        other.join()
        released.reacquire()
        #expect(thread.holdsLock)
        #expect(thread.statistics.acquisitions == 2)
        thread.detach()
    }

    // MARK: - Misuse traps, each naming the thread

    static func stderr(_ result: ExitTest.Result?) throws -> String {
        String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
    }

    @Test("a token dropped without reacquire() traps")
    func droppedToken() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "forgetful")
            thread.acquire()
            _ = thread.releaseLock()
        })
        #expect(stderr.contains("forgetful: a ReleasedLock was dropped without reacquire()"), "\(stderr)")
    }

    @Test("a nested release traps")
    func nestedRelease() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "nested")
            thread.acquire()
            thread.withoutLock { thread.withoutLock {} }
        })
        #expect(stderr.contains("nested: nested release: withoutLock()"), "\(stderr)")
    }

    @Test("a release by a thread that does not hold the lock traps")
    func releaseWithoutHolding() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            InterpreterLock().makeThreadState(name: "idle").release()
        })
        #expect(stderr.contains("idle: release() without holding the interpreter lock"), "\(stderr)")
    }

    @Test("taking the lock while holding it traps")
    func acquireWhileHolding() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "greedy")
            thread.acquire()
            thread.acquire()
        })
        #expect(stderr.contains("greedy: acquire() while already holding the interpreter lock"), "\(stderr)")
    }

    @Test("a thread that ends holding the lock traps")
    func endsHolding() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let lock = InterpreterLock()
            NativeThread { lock.makeThreadState(name: "quitter").acquire() }.join()
        })
        #expect(stderr.contains("quitter: the thread ended while holding the interpreter lock"), "\(stderr)")
    }
}

