import MonitorProtocol
package import NIOCore

/// What one read of a connection brought: the messages it completed, in order, and the error
/// that ended the stream there, if one did.
///
/// One batch per read rather than one message at a time, so that the gateway acknowledges all a
/// read brought with one ack. The error comes with the messages before it, so that they are
/// handled first, as they were received.
package struct MessageBatch<Message: Sendable>: Sendable {
    package var messages: [Message]
    /// A ``FramingError`` or the decoder's error; nothing follows it on this connection.
    package var error: (any Error)?
    /// Whether the stream stopped inside a message: the gateway gives a message begun a deadline, so a
    /// peer trickling bytes cannot hold the connection. A batch without messages is delivered when a
    /// message begins, so that the deadline can start.
    package var inMessage = false
}

/// The connection's framing, in the pipeline: cuts the byte stream into JSON objects with
/// ``JSONObjectSplitter`` and decodes each, so that what a connection carries is messages.
///
/// After an error the decoder drops every later byte: the stream is unusable, and the handler
/// closes the connection once it has answered.
package struct JSONMessageDecoder<Message: Sendable>: ByteToMessageDecoder {
    package typealias InboundOut = MessageBatch<Message>

    private var splitter: JSONObjectSplitter
    private let decodeObject: @Sendable ([UInt8]) throws -> Message
    private var failed = false
    private var wasInMessage = false

    /// - Parameters:
    ///   - maximumObjectBytes: longer objects are a framing error (see ``JSONObjectSplitter``).
    ///   - decode: turns one object into a message; what it throws ends the stream.
    package init(maximumObjectBytes: Int, decode: @escaping @Sendable ([UInt8]) throws -> Message) {
        self.splitter = JSONObjectSplitter(maximumObjectBytes: maximumObjectBytes)
        self.decodeObject = decode
    }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        defer { buffer.moveReaderIndex(to: buffer.writerIndex) }
        guard !failed else { return .needMoreData }
        buffer.withUnsafeReadableBytes { splitter.append($0) }
        var batch = MessageBatch<Message>(messages: [])
        do {
            while let object = try splitter.nextObject() {
                batch.messages.append(try decodeObject(object))
            }
        } catch {
            failed = true
            batch.error = error
        }
        batch.inMessage = splitter.hasPartialObject
        splitter.releaseStorageIfIdle()
        let begun = batch.inMessage && !wasInMessage
        wasInMessage = batch.inMessage
        if !batch.messages.isEmpty || batch.error != nil || begun {
            context.fireChannelRead(wrapInboundOut(batch))
        }
        return .needMoreData
    }

    /// At the end of the stream, what was complete is delivered; a partial object is dropped, as
    /// the peer closed in the middle of it.
    package mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) -> DecodingState {
        decode(context: context, buffer: &buffer)
    }
}

extension JSONMessageDecoder where Message == [UInt8] {
    /// Objects as they are cut, for a handler that decodes them itself.
    package init(maximumObjectBytes: Int) {
        self.init(maximumObjectBytes: maximumObjectBytes) { $0 }
    }
}

/// Reads a connection's messages one at a time, across the batches the decoder delivers; a
/// batch's error is thrown after its messages.
package struct MessageReader<Message: Sendable> {
    private var batches: NIOAsyncChannelInboundStream<MessageBatch<Message>>.AsyncIterator
    private var pending: [Message] = []
    private var next = 0
    private var error: (any Error)?

    package init(_ inbound: NIOAsyncChannelInboundStream<MessageBatch<Message>>) {
        self.batches = inbound.makeAsyncIterator()
    }

    /// The next message, or `nil` when the peer closed the connection.
    package mutating func next() async throws -> Message? {
        while next == pending.count {
            if let error { throw error }
            guard let batch = try await batches.next() else { return nil }
            (pending, next, error) = (batch.messages, 0, batch.error)
        }
        defer { next += 1 }
        return pending[next]
    }
}
