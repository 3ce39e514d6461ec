import NIOCore
import Synchronization

/// The connections a listener has accepted and not yet seen closed, so that they can be closed
/// together at shutdown, after the listener itself.
///
/// Agent connections run as channel handlers on their event loops, without a task each: this set
/// takes the place of the task group that used to hold one child task per connection. Once
/// ``closeAll()`` has run, a connection that is registered late (accepted in the same instant) is
/// closed at once rather than left open.
final class OpenChannels: Sendable {
    private struct Contents {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closing = false
    }

    private let contents = Mutex(Contents())

    /// Adds `channel` until it closes.
    func insert(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let accepted = contents.withLock { contents in
            guard !contents.closing else { return false }
            contents.channels[key] = channel
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = contents.withLock { $0.channels.removeValue(forKey: key) }
        }
    }

    /// Closes every open connection, and every one registered from now on.
    func closeAll() {
        let channels = contents.withLock { contents in
            contents.closing = true
            return Array(contents.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Returns once every connection registered so far has closed (new ones included, until none is left).
    func allClosed() async {
        while let channel = contents.withLock({ $0.channels.values.first }) {
            try? await channel.closeFuture.get()
            // The close callback that removes it may run just after the future completes.
            _ = contents.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    var count: Int { contents.withLock { $0.channels.count } }
}
