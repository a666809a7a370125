// The shape every measurement shares (DESIGN section 6): rounds over the items being compared,
// each item once a round, odd rounds in reverse (A B … B A), so that a slow drift of the machine
// falls on every item alike; progress before each step; a stop request honoured between steps.

/// Runs `rounds` rounds over `count` items, calling `step(round, item)` for each, the items in
/// order in even rounds and in reverse in odd ones.
/// - Parameters:
///   - stop: when it is requested, no further step starts.
///   - progress: hears (steps done, steps in all) before each step, and once more at the end.
/// - Returns: how many rounds ran whole: `rounds` unless a stop came first.
/// - Throws: what `step` throws; no step runs after it.
func interleavedRounds<Failure: Error>(
    _ rounds: Int, over count: Int, stop: StopRequest? = nil, progress: (Int, Int) -> Void,
    _ step: (_ round: Int, _ item: Int) throws(Failure) -> Void
) throws(Failure) -> Int {
    let total = rounds * count
    for round in 0..<rounds {
        let order = round % 2 == 0 ? Array(0..<count) : (0..<count).reversed()
        for (position, item) in order.enumerated() {
            if stop?.isRequested == true {
                progress(total, total)
                return round
            }
            progress(round * count + position, total)
            try step(round, item)
        }
    }
    progress(total, total)
    return rounds
}

/// The element at the median of `key` (the lower middle for an even count): the one run whose
/// figures stand for all of them.
func medianElement<Element>(_ elements: [Element], by key: (Element) -> UInt64) -> Element {
    elements.sorted { key($0) < key($1) }[(elements.count - 1) / 2]
}
