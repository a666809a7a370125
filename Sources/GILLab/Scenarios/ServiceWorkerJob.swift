import Foundation

// The service scenario's worker processes: a job handler that serves requests instead of units,
// and the messages it exchanges with the parent.

/// A `gillab scenario service` worker: handles fetched requests one at a time (`hybrid`'s
/// compute pool), or fetches and handles whole batches itself (`processes`).
enum ServiceWorkerJob: WorkerJobHandler {
    static let name = "service"

    static func serve(_ job: WorkerJob, on thread: ThreadState, _ session: WorkerSession) throws(WorkerJobFailure) {
        guard let bytes = job.settings, let settings = try? JSONDecoder().decode(ServiceWorkerSettings.self, from: Data(bytes)) else {
            throw .failed("a service job without its settings")
        }
        thread.acquire()
        defer { thread.detach() }
        let handler: ServiceHandler
        do { handler = try ServiceHandler(on: thread, discipline: .release, size: settings.size) } catch {
            throw .failed(error.description)
        }
        var client: ServiceClient?
        thread.release(reason: .end)
        session.ready()
        while true {
            let frame = try session.receive(nil)
            thread.resetStatistics()
            thread.acquire()
            do throws(WorkloadError) {
                if frame.tag == FrameTag.exit.rawValue { return }
                guard frame.tag == FrameTag.call.rawValue, let call = frame.decode(ServiceCall.self) else {
                    throw .invalid("frame tag \(frame.tag) where a request, batch or exit was due")
                }
                switch call {
                case .request(let request):
                    let digest = try handler.handle(request.k, text: request.text, on: thread)
                    thread.release(reason: .end)
                    session.send(WorkerResult(checksum: digest, statistics: thread.statistics), .result)
                case .batch(let batch):
                    if client == nil { client = try ServiceClient(port: settings.port) }
                    var result = ServiceBatchResult(digests: [], latencyNanoseconds: [], statistics: LockStatistics())
                    for k in batch.requests {
                        let start = monotonicNanoseconds()
                        let text = try thread.withoutLock(reason: .io) { () throws(WorkloadError) in try client!.fetch(k) }
                        result.digests.append(try handler.handle(k, text: String(decoding: text, as: UTF8.self), on: thread))
                        result.latencyNanoseconds.append(monotonicNanoseconds() - start)
                    }
                    thread.release(reason: .end)
                    result.statistics = thread.statistics
                    session.send(result, .reply)
                }
            } catch {
                throw .failed(error.description)
            }
        }
    }
}

/// A service worker's settings: the handler's matrix order and the backend to fetch from.
struct ServiceWorkerSettings: Codable, Sendable {
    var size: Int
    var port: UInt16
}

/// What the parent sends a service worker in a `call` frame.
enum ServiceCall: Codable, Sendable {
    /// One fetched request to handle (`hybrid`'s compute pool); answered with a ``WorkerResult``.
    case request(ServiceRequest)
    /// Requests to fetch and handle itself (`processes`); answered with a ``ServiceBatchResult``
    /// in a `reply` frame.
    case batch(ServiceBatch)
}

/// A fetched request, for a compute worker of `hybrid`.
struct ServiceRequest: Codable, Sendable {
    var k: Int
    var text: String
}

/// Requests a `processes` service worker fetches and handles in a closed loop.
struct ServiceBatch: Codable, Sendable {
    var requests: [Int]
}

/// What a service worker did with a batch: one digest and one latency per request, in order.
struct ServiceBatchResult: Codable, Sendable {
    var digests: [UInt64]
    var latencyNanoseconds: [UInt64]
    var statistics: LockStatistics
}
