#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import GILLabLock
import GILLabTestSupport

/// Checks that every thread's charges add up to its measured wait, exactly: the sweep covers
/// each wait from `wants` to `acquired` with nothing left over.
func expectChargesAddUp(_ recorder: LockEventRecorder, _ lock: InterpreterLock,
                        _ statistics: [String: LockStatistics], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(recorder.threads.allSatisfy { $0.dropped == 0 }, "the recorder dropped events", sourceLocation: sourceLocation)
    let attribution = WaitAttribution(recorder, locations: lock.locations)
    for thread in attribution.threads {
        let measured = statistics[thread.name]?.totalWaitNanoseconds ?? 0
        #expect(attribution.chargedNanoseconds(waiter: thread.id) == measured,
                "\(thread.name): charged \(attribution.chargedNanoseconds(waiter: thread.id)) ns, waited \(measured) ns",
                sourceLocation: sourceLocation)
        #expect(thread.waitNanoseconds == measured, sourceLocation: sourceLocation)
        // Nobody waits behind itself.
        #expect(attribution.nanoseconds(waiter: thread.id, behind: thread.id) == 0, sourceLocation: sourceLocation)
    }
    let byLocation = attribution.blockers.reduce(0) { $0 + $1.nanoseconds }
    #expect(byLocation == attribution.totalWaitNanoseconds, sourceLocation: sourceLocation)
}

@Suite("Wait attribution")
struct WaitAttributionTests {
    @Test("the handoff time is the time the lock sat free while someone waited, once per moment, within the window")
    func handoffTime() {
        func event(_ kind: LockEvent.Kind, _ at: UInt64, _ thread: Int) -> LockEvent { LockEvent(kind, at: at, thread: thread) }
        // a holds 0–100; b wants at 50 and takes at 130 (30 ns of handoff), holds to 200; c wants
        // at 150 and takes at 210 (10 more); d takes at once, uncontended, when nobody holds.
        let a = [event(.wants, 0, 1), event(.acquired, 0, 1), event(.released(.dropRequest), 100, 1)]
        let b = [event(.wants, 50, 2), event(.acquired, 130, 2), event(.released(.dropRequest), 200, 2)]
        let c = [event(.wants, 150, 3), event(.acquired, 210, 3), event(.released(.exit), 300, 3)]
        let d = [event(.wants, 400, 4), event(.acquired, 400, 4), event(.released(.exit), 450, 4)]
        let threads = [a, b, c, d].map { (interpreter: 0, events: $0) }
        #expect(WaitAttribution.handoffNanoseconds(threads: threads) == 40)
        #expect(WaitAttribution.handoffNanoseconds(threads: threads, window: 0..<120) == 20)
        #expect(WaitAttribution.handoffNanoseconds(threads: threads, window: 205..<1000) == 5)
        // Threads of another interpreter have a lock of their own: b and c's waits in
        // interpreter 1, with nobody holding there, are handoff time of that lock.
        let split = [(interpreter: 0, events: a), (interpreter: 1, events: b), (interpreter: 1, events: c)]
        #expect(WaitAttribution.handoffNanoseconds(threads: split) == 0 + (130 - 50) + 10)
    }

    @Test("for every policy with a holder, each waiter's charges add up to its measured wait",
          arguments: [LockPolicy.newGIL, .legacyGIL, .ioPriority, .perInterpreter])
    func chargesAddUp(policy: LockPolicy) throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: try LockConfiguration(policy: policy, switchInterval: .microseconds(200),
                                                                       checkInterval: 50,
                                                                       interpreters: policy == .perInterpreter ? 2 : 1),
                                   eventHook: recorder)
        let states = Collector<(String, LockStatistics)>()
        let ready = Counter()
        runThreads(4) { index in
            let thread = lock.makeThreadState(name: "t\(index)", interpreter: index % lock.interpreterCount)
            let places = (0..<3).map { lock.locations.index(of: "t.py:\($0 + 1)") }
            // All four start together, so that threads of one interpreter overlap and wait.
            ready.add()
            while ready.load < 4 { sched_yield() }
            var spin: UInt64 = 0
            for step in 0..<300 {
                thread.acquire()
                for inner in 0..<200 {
                    spin &+= 1
                    if inner % 50 == 0 { thread.enter(location: places[(step + inner) % 3]) }
                    thread.checkpoint()
                }
                if step % 3 == 0 {
                    // A short block, so that the threads interleave on 2 cores rather than run
                    // one pair after the other, and come back to find the lock held.
                    thread.withoutLock(reason: step % 2 == 0 ? .io : .kernel) { _ = usleep(50) }
                }
                thread.release()
            }
            thread.detach()
            states.append((thread.name, thread.statistics))
            #expect(spin > 0)
        }
        let statistics = Dictionary(states.all, uniquingKeysWith: { first, _ in first })
        expectChargesAddUp(recorder, lock, statistics)
        let attribution = WaitAttribution(recorder, locations: lock.locations)
        #expect(attribution.totalWaitNanoseconds > 0, "nobody waited: the test tested nothing")
        if policy == .perInterpreter {
            // t0 and t2 share interpreter 0, t1 and t3 interpreter 1: nobody waits across them.
            let ids = Dictionary(attribution.threads.map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
            for (waiter, holder) in [("t0", "t1"), ("t0", "t3"), ("t1", "t0"), ("t1", "t2")] {
                #expect(attribution.nanoseconds(waiter: ids[waiter]!, behind: ids[holder]!) == 0, "\(waiter) charged to \(holder)")
            }
        }
    }

    /// A holds the lock at a known place for a known time (30 ms, read back from A's own events)
    /// and B waits all of it: that time is charged to A at that place. B's wait can be longer
    /// (A may be descheduled before it enters the place, and B wakes up after), never shorter.
    @Test("a scripted 2-thread run: B's wait is charged to A at the location A held in, within 5%")
    func scriptedCharge() throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: .seconds(1)), eventHook: recorder)
        let place = lock.locations.index(of: "script.py:3 (busy())")
        let a = lock.makeThreadState(name: "a")
        a.acquire()
        let bStatistics = Collector<LockStatistics>()
        let b = NativeThread {
            let b = lock.makeThreadState(name: "b")
            b.acquire()
            b.release()
            b.detach()
            bStatistics.append(b.statistics)
        }
        while lock.state.waitingCount == 0 { sched_yield() }
        a.at(location: place) {
            // 30 ms holding at the place, with no checkpoint: nothing can take the lock away.
            let until = monotonicNanoseconds() + 30_000_000
            while monotonicNanoseconds() < until {}
        }
        a.release()
        b.join()
        a.detach()

        let attribution = WaitAttribution(recorder, locations: lock.locations)
        let ids = Dictionary(attribution.threads.map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
        let waited = try #require(bStatistics.all.first).totalWaitNanoseconds
        let behindA = attribution.nanoseconds(waiter: ids["b"]!, behind: ids["a"]!)
        let known = timeAt(place, in: recorder.threads[0].events)
        #expect(known >= 30_000_000)
        let blocker = try #require(attribution.blockers.first)
        #expect(blocker.location == "script.py:3 (busy())")
        #expect(blocker.handoffs == 0, "A let go from the glue, after leaving the place")
        #expect(abs(Double(blocker.nanoseconds) - Double(known)) <= 0.05 * Double(known),
                "\(blocker.nanoseconds) ns charged at the place; A was there \(known) ns")
        #expect(blocker.nanoseconds <= waited && behindA <= waited)
        #expect(attribution.chargedNanoseconds(waiter: ids["b"]!) == waited)
        #expect(attribution.blockers.contains { $0.location == LockLocations.glueName && $0.handoffs == 1 })
    }

    @Test("a recorder that drops events: attribution stops at the first truncated thread's last kept event, and says so")
    func truncated() throws {
        let recorder = LockEventRecorder(eventsPerThread: 200)
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: .microseconds(200)), eventHook: recorder)
        let states = Collector<(String, LockStatistics)>()
        let ready = Counter()
        runThreads(3) { index in
            let thread = lock.makeThreadState(name: "t\(index)")
            ready.add()
            while ready.load < 3 { sched_yield() }
            for _ in 0..<400 {
                thread.acquire()
                for _ in 0..<100 { thread.checkpoint() }
                thread.withoutLock(reason: .io) { _ = usleep(20) }
                thread.release()
            }
            thread.detach()
            states.append((thread.name, thread.statistics))
        }
        #expect(recorder.threads.allSatisfy { $0.dropped > 0 })
        let attribution = WaitAttribution(recorder, locations: lock.locations)
        let cut = try #require(attribution.truncatedAt)
        #expect(cut == recorder.threads.map { $0.events.last!.nanoseconds }.min())
        let statistics = Dictionary(states.all, uniquingKeysWith: { first, _ in first })
        for thread in attribution.threads {
            // Only waits before the cut are charged: never more than the thread waited, nor more
            // than its life up to the cut.
            #expect(attribution.chargedNanoseconds(waiter: thread.id) <= statistics[thread.name]!.totalWaitNanoseconds)
            #expect(thread.waitNanoseconds <= thread.lifeNanoseconds)
        }
        // Events lost only after the window do not cut it.
        let whole = WaitAttribution(recorder, locations: lock.locations, window: 0..<(cut - 1))
        #expect(whole.truncatedAt == nil)
        // With no names given, every location is still counted (by number).
        let unnamed = WaitAttribution(threads: recorder.threads.map { ($0.id, $0.name, $0.interpreter, $0.events, $0.dropped) },
                                      locationNames: [])
        #expect(unnamed.totalWaitNanoseconds == attribution.totalWaitNanoseconds)
    }

    @Test("drop requests are recorded with the holder they asked")
    func dropRequestEvents() throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: .milliseconds(1)), eventHook: recorder)
        let a = lock.makeThreadState(name: "a")
        a.acquire()
        let bHeld = Counter()
        let b = NativeThread {
            let b = lock.makeThreadState(name: "b")
            b.acquire()
            bHeld.store(1)
            b.release()
            b.detach()
        }
        // Hold, polling, until B's timed wait asks for the lock and a checkpoint hands it over.
        while bHeld.load == 0 { a.checkpoint() }
        a.release()
        b.join()
        a.detach()
        let threads = recorder.threads
        let requests = threads[1].events.compactMap { event -> Int? in
            if case .dropRequest(let holder) = event.kind { return holder }
            return nil
        }
        #expect(requests == [a.id])
    }

    @Test("locations: one index per name, from any thread; enter records only changes, and only with a hook")
    func locations() {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(eventHook: recorder)
        let first = lock.locations.index(of: "f.py:1 (x)")
        #expect(lock.locations.index(of: "f.py:1 (x)") == first)
        #expect(lock.locations.index(of: LockLocations.glueName) == LockLocations.glue)
        #expect(lock.locations.name(of: first) == "f.py:1 (x)")
        let thread = lock.makeThreadState()
        thread.acquire()
        for _ in 0..<3 { thread.enter(location: first) }
        thread.at(location: LockLocations.glue) {}
        thread.release()
        thread.detach()
        let moves = recorder.threads[0].events.filter { if case .location = $0.kind { true } else { false } }
        #expect(moves.map(\.kind) == [.location(first), .location(LockLocations.glue), .location(first)])

        let plain = InterpreterLock().makeThreadState()
        plain.acquire()
        plain.enter(location: 7)
        #expect(plain.currentLocation == LockLocations.glue)
        plain.release()
        plain.detach()
    }
}
