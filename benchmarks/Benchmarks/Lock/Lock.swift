import Benchmark
import Foundation
import GILLab
import Synchronization

// The lock's own costs, which every GILLab figure carries: an uncontended take and drop, a
// release and re-take around an empty kernel (Py_BEGIN/END_ALLOW_THREADS with nothing between;
// under new-gil and under free, whose attach and detach take no mutex),
// the latency of a handoff to a sleeping waiter, and the time from a drop request to the handoff.
// CPython 3.11 on this machine, for comparison: 39 ns for an uncontended release + re-take,
// 22 µs median for a threading.Event ping-pong.

final class HandoffRig: @unchecked Sendable {
    let phase = Atomic<Int>(0)
    let sentAt = Atomic<UInt64>(0)
    /// Written by the waiter thread only, read after it is done.
    var samples: [Int] = []
}

func now() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput],  // the default metrics; ARC metrics crash here
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 10_000_000)

    // `untimed` keeps new-gil's behaviour and drops the clock reads that time holds: the
    // uncontended round trip is then the lock word's two compare-and-swaps and little else.
    let variants = [("new-gil", LockConfiguration.default),
                    ("new-gil+spin", try! LockConfiguration(spin: .microseconds(50))),
                    ("new-gil untimed", try! LockConfiguration(timing: .untimed))]
    // `free` (3.13t): attach and detach are the thread's own compare-and-swap plus the one
    // shared counter GILLab keeps for its statistics; no mutex, nothing to hand over.
    let roundTrips = variants + [("free", try! LockConfiguration(policy: .free)),
                                 ("free untimed", try! LockConfiguration(policy: .free, timing: .untimed))]
    for (variant, configuration) in roundTrips {
        Benchmark("uncontended acquire + release, \(variant)", configuration: .init(scalingFactor: .kilo)) { benchmark in
            let thread = InterpreterLock(configuration: configuration).makeThreadState(name: "bench")
            for _ in benchmark.scaledIterations {
                thread.acquire()
                thread.release()
            }
            thread.detach()
        }

        Benchmark("release + reacquire around an empty kernel, \(variant)", configuration: .init(scalingFactor: .kilo)) { benchmark in
            let thread = InterpreterLock(configuration: configuration).makeThreadState(name: "bench")
            thread.acquire()
            for _ in benchmark.scaledIterations {
                thread.withoutLock {}
            }
            thread.detach()
        }
    }

    // Handoffs, where timing costs nothing next to a wake-up: new-gil and the fast handoff.
    for (variant, configuration) in variants.prefix(2) {
        // Two threads ping-pong the lock. The holder stamps the time and releases, then waits
        // for the other to report that it runs before asking again, so every release is a
        // handoff; the other has been waiting in acquire() since its own last release, a few
        // microseconds. One sample per handoff: release to the waiter running with the lock.
        let handoff = BenchmarkMetric.custom("handoff latency (ns)", polarity: .prefersSmaller, useScalingFactor: false)
        Benchmark("contended handoff ping-pong: release to the waiter running, \(variant)",
                  configuration: .init(metrics: [handoff], warmupIterations: 0, maxDuration: .seconds(10), maxIterations: 1)) { benchmark in
            // One iteration of 20,000 rounds, each round one sample: threads are started once.
            let lock = InterpreterLock(configuration: configuration)
            let rigs = [HandoffRig(), HandoffRig()]  // rigs[k].samples: handoffs to thread k
            let turn = HandoffRig()                  // phase: whose turn to hold (0 or 1)
            let rounds = 10_000
            let done = DispatchGroup()
            for me in 0..<2 {
                done.enter()
                Thread.detachNewThread {
                    let thread = lock.makeThreadState(name: "player-\(me)")
                    for _ in 0..<rounds {
                        // Busy-wait: a yield could let the host deschedule this vCPU.
                        while turn.phase.load(ordering: .acquiring) != me {}
                        thread.acquire()
                        let ranAt = now()
                        let sent = turn.sentAt.load(ordering: .acquiring)
                        if sent != 0 { rigs[me].samples.append(Int(ranAt - sent)) }
                        // Let the other ask first, so that it is waiting when we release.
                        turn.phase.store(1 - me, ordering: .releasing)
                        // 2 µs of Python-level work, timed so the optimizer cannot fold it away.
                        let until = now() + 2_000
                        while now() < until {}
                        turn.sentAt.store(now(), ordering: .releasing)
                        thread.release()
                    }
                    thread.detach()
                    done.leave()
                }
            }
            done.wait()
            for rig in rigs { for sample in rig.samples { benchmark.measurement(handoff, sample) } }
        }
    }

    // A CPU-bound holder polling checkpoints and a waiter: the waiter's wait less the switch
    // interval is the time from the drop request (set when the interval expires) to the handoff.
    let interval = Duration.microseconds(500)
    let requestToHandoff = BenchmarkMetric.custom("drop request to handoff (ns)", polarity: .prefersSmaller, useScalingFactor: false)
    Benchmark("drop request to handoff, new-gil, 500 µs interval",
              configuration: .init(metrics: [requestToHandoff], warmupIterations: 0, maxDuration: .seconds(10), maxIterations: 1)) { benchmark in
        // One iteration of 1,000 requests, each one sample: threads are started once.
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: interval))
        let stop = HandoffRig()
        let holder = lock.makeThreadState(name: "holder")
        holder.acquire()
        let started = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            started.signal()
            var spin = 0
            let cpu = lock.makeThreadState(name: "cpu")
            cpu.acquire()
            while stop.phase.load(ordering: .relaxed) == 0 {
                spin &+= 1
                cpu.checkpoint()
            }
            cpu.detach()
            blackHole(spin)
            done.signal()
        }
        started.wait()
        holder.release()
        usleep(2_000)  // the cpu thread holds the lock and polls
        for _ in 0..<1_000 {
            let before = holder.statistics.totalWaitNanoseconds
            holder.acquire()
            let waited = holder.statistics.totalWaitNanoseconds - before
            benchmark.measurement(requestToHandoff, max(Int(waited) - Int(interval.components.attoseconds / 1_000_000_000), 0))
            holder.release()
            usleep(1_000)  // the cpu thread has the lock back and polls before the next request
        }
        stop.phase.store(1, ordering: .relaxed)
        done.wait()
        holder.detach()
    }
}
