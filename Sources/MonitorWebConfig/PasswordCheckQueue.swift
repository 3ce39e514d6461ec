import Synchronization

/// Hands out the few bcrypt slots fairly among the clients' addresses.
///
/// A password that is not remembered costs a bcrypt check (tens to hundreds of milliseconds of a
/// core), so only ``slots`` run at once. First come, first served would let one client that sends
/// wrong passwords on many connections hold every slot and every place in line, and a scraper with
/// the right password would only ever get 503 (audit 5, finding 02). So each address may hold at
/// most ``placesPerAddress`` places (running or waiting), the line is bounded, and it is served in
/// order of arrival: a scraper behind a flood from another address waits for a few checks, it is
/// not refused. Clients behind one address (one host, one NAT) share its places.
final class PasswordCheckQueue: Sendable {
    let slots: Int
    let placesPerAddress: Int
    let maximumWaiting: Int

    private struct State {
        var running = 0
        /// Places held (running or waiting) per address.
        var held: [String: Int] = [:]
        /// Resumed with `true` when a slot passes to them.
        var waiting: [CheckedContinuation<Bool, Never>] = []
    }

    private let state = Mutex(State())

    init(slots: Int, placesPerAddress: Int, maximumWaiting: Int) {
        precondition(slots > 0 && placesPerAddress > 0 && maximumWaiting >= 0)
        self.slots = slots
        self.placesPerAddress = placesPerAddress
        self.maximumWaiting = maximumWaiting
    }

    /// Runs `check` once a slot is free, or returns `nil` at once when `address` already holds its
    /// places or the line is full (the client is told to try again).
    func run<Result: Sendable>(for address: String, _ check: () async -> Result) async -> Result? {
        // Admitted, queued or refused in one step under the lock; a queued check is resumed by
        // `leave`, which hands it the slot it frees.
        let admitted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { state -> Bool? in
                let held = state.held[address, default: 0]
                guard held < placesPerAddress else { return false }
                if state.running < slots {
                    state.running += 1
                    state.held[address] = held + 1
                    return true
                }
                guard state.waiting.count < maximumWaiting else { return false }
                state.waiting.append(continuation)
                state.held[address] = held + 1
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
        guard admitted else { return nil }
        defer { leave(address) }
        return await check()
    }

    private func leave(_ address: String) {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            let held = state.held[address, default: 1] - 1
            state.held[address] = held > 0 ? held : nil
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            // The slot passes to the first in line; `running` stays as it is.
            return state.waiting.removeFirst()
        }
        next?.resume(returning: true)
    }

    /// Checks running or waiting, for tests of the bounds.
    var holders: Int { state.withLock { $0.held.values.reduce(0, +) } }
}
