import Testing
@testable import GILLab
import GILLabTestSupport

@Suite("The rounds of the measurement contract")
struct RoundsTests {
    @Test("odd rounds run the items in reverse (A B C C B A A B C), with progress before each step and at the end")
    func order() {
        var steps: [Int] = [], progress: [Int] = []
        let whole = interleavedRounds(3, over: 3, progress: { done, total in
            #expect(total == 9)
            progress.append(done)
        }) { (_, item) in steps.append(item) }
        #expect(whole == 3)
        #expect(steps == [0, 1, 2, 2, 1, 0, 0, 1, 2])
        #expect(progress == Array(0...9))
    }

    @Test("a stop request ends the rounds before the next step, and says how many ran whole")
    func stop() {
        let stop = StopRequest()
        var steps = 0
        let whole = interleavedRounds(5, over: 2, stop: stop, progress: { _, _ in }) { (_, _) in
            steps += 1
            if steps == 3 { stop.stop() }
        }
        #expect(steps == 3)
        #expect(whole == 1)
    }

    @Test("an error ends the rounds at once")
    func error() {
        var steps = 0
        #expect(throws: Boom.self) {
            _ = try interleavedRounds(3, over: 2, progress: { _, _ in }) { (_, item) throws(Boom) in
                steps += 1
                if item == 1 { throw Boom() }
            }
        }
        #expect(steps == 2)
    }

    @Test("the median element is the lower middle for an even count")
    func median() {
        #expect(medianElement([5, 1, 3], by: UInt64.init) == 3)
        #expect(medianElement([4, 1, 3, 2], by: UInt64.init) == 2)
        #expect(medianElement([7], by: UInt64.init) == 7)
    }
}
