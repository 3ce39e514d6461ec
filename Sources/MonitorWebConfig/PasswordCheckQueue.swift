import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Hands out the few bcrypt slots fairly among the clients' addresses.
///
/// A password that is not remembered costs a bcrypt check (tens to hundreds of milliseconds of a
/// core), so only ``slots`` run at once. First come, first served would let one client that sends
/// wrong passwords on many connections hold every slot and every place in line, and a scraper with
/// the right password would only ever get 503 (audit 5, finding 02). So each address may hold at
/// most ``placesPerAddress`` places (running or waiting), and the line is bounded.
///
/// An address that sent a wrong password within ``suspicionSeconds`` is a suspect: the others go
/// ahead of suspects in the line, and a newcomer that is no suspect takes a full line's last
/// suspect place (that check is refused, 503). So a flood of wrong passwords from any number of
/// addresses cannot keep a scraper that never sent one waiting for more than the checks already
/// running (audit 6, 03: nine addresses filled the line). Clients behind one address (one host,
/// one NAT) share its places and its suspicion; IPv6 addresses count by their /64.
final class PasswordCheckQueue: Sendable {
    let slots: Int
    let placesPerAddress: Int
    let maximumWaiting: Int
    static let suspicionSeconds: Int64 = 60
    /// Suspects remembered at most (each a few dozen bytes); beyond, new ones are not recorded.
    static let maximumSuspects = 4096

    private struct Waiting {
        var address: String
        var suspect: Bool
        /// Resumed with `true` when a slot passes to it, `false` when a newcomer took its place.
        var resume: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var running = 0
        /// Places held (running or waiting) per address.
        var held: [String: Int] = [:]
        /// Those that are no suspects first, each kind in order of arrival.
        var waiting: [Waiting] = []
        /// When each suspect address last sent a wrong password (monotonic seconds).
        var suspects: [String: Int64] = [:]

        func isSuspect(_ address: String, now: Int64) -> Bool {
            suspects[address].map { now - $0 < PasswordCheckQueue.suspicionSeconds } ?? false
        }

        mutating func release(_ address: String) {
            let left = held[address, default: 1] - 1
            held[address] = left > 0 ? left : nil
        }
    }

    private let state = Mutex(State())

    init(slots: Int, placesPerAddress: Int, maximumWaiting: Int) {
        precondition(slots > 0 && placesPerAddress > 0 && maximumWaiting >= 0)
        self.slots = slots
        self.placesPerAddress = placesPerAddress
        self.maximumWaiting = maximumWaiting
    }

    /// Runs `check` once a slot is free, or returns `nil` when `address` already holds its places
    /// or the line is full (the client is told to try again).
    func run<Result: Sendable>(for client: String, _ check: () async -> Result) async -> Result? {
        let address = Self.group(client)
        let now = Self.monotonicSeconds()
        var refused: CheckedContinuation<Bool, Never>?
        // Admitted, queued or refused in one step under the lock; a queued check is resumed by
        // `leave`, which hands it the slot it frees, or by a newcomer that takes its place.
        let admitted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { state -> Bool? in
                let held = state.held[address, default: 0]
                guard held < placesPerAddress else { return false }
                if state.running < slots {
                    state.running += 1
                    state.held[address] = held + 1
                    return true
                }
                let suspect = state.isSuspect(address, now: now)
                if state.waiting.count >= maximumWaiting {
                    // A full line: only one who is no suspect gets in, in a suspect's place.
                    guard !suspect, let last = state.waiting.lastIndex(where: \.suspect) else { return false }
                    let displaced = state.waiting.remove(at: last)
                    state.release(displaced.address)
                    refused = displaced.resume
                }
                let entry = Waiting(address: address, suspect: suspect, resume: continuation)
                if suspect {
                    state.waiting.append(entry)
                } else {
                    state.waiting.insert(
                        entry, at: state.waiting.firstIndex(where: \.suspect) ?? state.waiting.endIndex)
                }
                state.held[address] = held + 1
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
        refused?.resume(returning: false)
        guard admitted else { return nil }
        defer { leave(address) }
        return await check()
    }

    /// `client` sent a wrong password: a suspect for ``suspicionSeconds``.
    func failed(_ client: String) {
        let address = Self.group(client)
        let now = Self.monotonicSeconds()
        state.withLock { state in
            if state.suspects.count >= Self.maximumSuspects {
                state.suspects = state.suspects.filter { now - $0.value < Self.suspicionSeconds }
            }
            guard state.suspects.count < Self.maximumSuspects || state.suspects[address] != nil else { return }
            state.suspects[address] = now
        }
    }

    private func leave(_ address: String) {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.release(address)
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            // The slot passes to the first in line; `running` stays as it is.
            return state.waiting.removeFirst().resume
        }
        next?.resume(returning: true)
    }

    /// The address a client counts as: itself, or for IPv6 its /64 (one host or site may hold all of it).
    static func group(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var bytes = in6_addr()
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        return withUnsafeBytes(of: bytes) { raw in
            raw.prefix(8).map { String($0, radix: 16) }.joined(separator: ".") + "/64"
        }
    }

    private static func monotonicSeconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec)
    }
}
