import TestSupport
import Testing

@testable import MonitorProtocol

@Suite struct SplitterTests {
    typealias Fixtures = ProtocolFixtures

    @Test func objectsBackToBackInOneAppend() throws {
        var splitter = JSONObjectSplitter()
        splitter.append(Array(Fixtures.trickyObjects.joined().utf8))
        let objects = try Fixtures.drain(&splitter)
        #expect(objects == Fixtures.trickyObjects.map { Array($0.utf8) })
        #expect(splitter.bufferedByteCount == 0)
        #expect(!splitter.hasPartialObject)
    }

    @Test func objectSplitAtEveryOffsetAcrossTwoAppends() throws {
        let stream = Array(Fixtures.trickyObjects.joined(separator: "\n").utf8)
        let expected = Fixtures.trickyObjects.map { Array($0.utf8) }
        for cut in 0...stream.count {
            var splitter = JSONObjectSplitter()
            splitter.append(stream[..<cut])
            var objects = try Fixtures.drain(&splitter)
            splitter.append(stream[cut...])
            objects += try Fixtures.drain(&splitter)
            #expect(objects == expected, "cut at \(cut)")
        }
    }

    @Test func oneByteAtATime() throws {
        let stream = Array(Fixtures.trickyObjects.joined().utf8)
        var splitter = JSONObjectSplitter()
        var objects: [[UInt8]] = []
        for byte in stream {
            splitter.append(CollectionOfOne(byte))
            objects += try Fixtures.drain(&splitter)
        }
        #expect(objects == Fixtures.trickyObjects.map { Array($0.utf8) })
    }

    @Test func randomChunkingOfRandomStreams() throws {
        var random = SeededGenerator(seed: 0x5578)
        for _ in 0..<200 {
            let count = Int.random(in: 1...20, using: &random)
            let objects = (0..<count).map { _ in Fixtures.trickyObjects.randomElement(using: &random)! }
            let separators = ["", " ", "\n", "\r\n", "\t \n"]
            var stream: [UInt8] = []
            for object in objects {
                stream += Array(separators.randomElement(using: &random)!.utf8) + Array(object.utf8)
            }
            var splitter = JSONObjectSplitter(maximumObjectBytes: 200)
            var received: [[UInt8]] = []
            var position = 0
            while position < stream.count {
                let end = min(stream.count, position + Int.random(in: 1...64, using: &random))
                stream[position..<end].withUnsafeBytes { splitter.append($0) }
                received += try Fixtures.drain(&splitter)
                position = end
            }
            #expect(received == objects.map { Array($0.utf8) })
        }
    }

    @Test func acceptsAnySequenceOfBytes() throws {
        var splitter = JSONObjectSplitter()
        // A lazy map has no contiguous storage, which exercises the copying path.
        splitter.append(#"{"a":1} {"b":2}"#.utf8.lazy.map { $0 })
        #expect(try Fixtures.drain(&splitter) == [Array(#"{"a":1}"#.utf8), Array(#"{"b":2}"#.utf8)])
    }

    @Test func partialObjectWaitsForMoreBytes() throws {
        var splitter = JSONObjectSplitter()
        splitter.append(Array(#"  {"a":"}"#.utf8))
        #expect(try splitter.nextObject() == nil)
        #expect(splitter.hasPartialObject)
        #expect(splitter.bufferedByteCount == 7)
        splitter.append(Array(#""}"#.utf8))
        #expect(try splitter.nextObject() == Array(#"{"a":"}"}"#.utf8))
        #expect(!splitter.hasPartialObject)
    }

    @Test(arguments: [
        ("x{}", UInt8(ascii: "x"), 0),
        ("[1]", UInt8(ascii: "["), 0),
        ("{} ,{}", UInt8(ascii: ","), 3),
        ("{\"a\":[}", UInt8(ascii: "}"), 6),
        ("{\"a\":{]}", UInt8(ascii: "]"), 6),
        ("\u{FEFF}{}", 0xEF, 0),
    ])
    func refusesUnexpectedBytes(input: String, byte: UInt8, offset: Int) {
        var splitter = JSONObjectSplitter()
        splitter.append(Array(input.utf8))
        #expect(throws: FramingError.unexpectedByte(byte, offset: offset)) {
            try Fixtures.drain(&splitter)
        }
    }

    @Test func deliversObjectsBeforeAnErrorAndThenStaysFailed() throws {
        var splitter = JSONObjectSplitter()
        splitter.append(Array(#"{"a":1}{"b":2}?{"c":3}"#.utf8))
        #expect(try splitter.nextObject() == Array(#"{"a":1}"#.utf8))
        #expect(try splitter.nextObject() == Array(#"{"b":2}"#.utf8))
        #expect(throws: FramingError.unexpectedByte(UInt8(ascii: "?"), offset: 14)) { try splitter.nextObject() }
        splitter.append(Array(#"{"d":4}"#.utf8))
        #expect(throws: FramingError.unexpectedByte(UInt8(ascii: "?"), offset: 14)) { try splitter.nextObject() }
        #expect(splitter.bufferedByteCount == 0)
    }

    @Test func errorOffsetCountsFromTheStartOfTheStreamAcrossCompactions() throws {
        var splitter = JSONObjectSplitter()
        let object = Array(#"{"sample":12345}"#.utf8)
        var sent = 0
        for _ in 0..<1000 {
            splitter.append(object)
            sent += object.count
            #expect(try Fixtures.drain(&splitter).count == 1)
        }
        #expect(splitter.bufferedByteCount == 0)
        splitter.append(Array("{} !".utf8))
        #expect(throws: FramingError.unexpectedByte(UInt8(ascii: "!"), offset: sent + 3)) {
            try Fixtures.drain(&splitter)
        }
    }

    @Test func acceptsAnObjectOfExactlyTheLimit() throws {
        let object = Array(("{\"a\":\"" + String(repeating: "x", count: 100 - 8) + "\"}").utf8)
        #expect(object.count == 100)
        var splitter = JSONObjectSplitter(maximumObjectBytes: 100)
        splitter.append(object + object)
        #expect(try Fixtures.drain(&splitter) == [object, object])
    }

    @Test func refusesAnOversizeObjectEvenWhenItIsComplete() throws {
        let object = Array(("{\"a\":\"" + String(repeating: "x", count: 101 - 8) + "\"}").utf8)
        var splitter = JSONObjectSplitter(maximumObjectBytes: 100)
        splitter.append(Array("{}".utf8) + object + Array("{}".utf8))
        #expect(try splitter.nextObject() == Array("{}".utf8))
        #expect(throws: FramingError.objectTooLarge(limit: 100)) { try splitter.nextObject() }
    }

    @Test func refusesAnEndlessObjectAsSoonAsTheLimitIsPassed() throws {
        let limit = 65536
        var splitter = JSONObjectSplitter(maximumObjectBytes: limit)
        let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 4096)
        splitter.append(Array(#"{"a":""#.utf8))
        var appended = 5
        var failedAfter: Int?
        while appended < 4 << 20 {
            splitter.append(chunk)
            appended += chunk.count
            #expect(splitter.bufferedByteCount <= limit)
            do {
                _ = try splitter.nextObject()
            } catch {
                #expect(error == .objectTooLarge(limit: limit))
                failedAfter = appended
                break
            }
        }
        let failure = try #require(failedAfter)
        #expect(failure > limit && failure <= limit + chunk.count)
        #expect(splitter.bufferedByteCount == 0)
    }

    @Test func refusesAnOversizeObjectInOneHugeAppendWithoutKeepingIt() {
        var splitter = JSONObjectSplitter(maximumObjectBytes: 1024)
        splitter.append([UInt8(ascii: "{")] + [UInt8](repeating: UInt8(ascii: " "), count: 4 << 20))
        #expect(splitter.bufferedByteCount == 0)
        #expect(throws: FramingError.objectTooLarge(limit: 1024)) { try splitter.nextObject() }
    }

    @Test func whiteSpaceBetweenObjectsIsNotKept() throws {
        var splitter = JSONObjectSplitter(maximumObjectBytes: 16)
        for _ in 0..<100 {
            splitter.append([UInt8](repeating: UInt8(ascii: "\n"), count: 1000))
            #expect(splitter.bufferedByteCount == 0)
        }
        splitter.append(Array("{}".utf8))
        #expect(try Fixtures.drain(&splitter) == [Array("{}".utf8)])
    }

    @Test func acceptsNestingUpToTheLimit() throws {
        let depth = 64
        let object =
            "{\"a\":" + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}"
        var splitter = JSONObjectSplitter()
        splitter.append(Array(object.utf8))
        #expect(try Fixtures.drain(&splitter) == [Array(object.utf8)])
    }

    @Test func refusesNestingBeyondTheLimit() throws {
        var splitter = JSONObjectSplitter(maximumDepth: 3)
        splitter.append(Array(#"{"a":{"b":[]}}{"a":{"b":[[]]}}"#.utf8))
        #expect(try splitter.nextObject() == Array(#"{"a":{"b":[]}}"#.utf8))
        #expect(throws: FramingError.nestingTooDeep(limit: 3)) { try splitter.nextObject() }
    }

    @Test func refusesADeepStreamOfOpeningBrackets() {
        var splitter = JSONObjectSplitter()
        splitter.append([UInt8(ascii: "{"), UInt8(ascii: "\""), UInt8(ascii: "\""), UInt8(ascii: ":")])
        splitter.append([UInt8](repeating: UInt8(ascii: "["), count: 100_000))
        #expect(throws: FramingError.nestingTooDeep(limit: 64)) { try splitter.nextObject() }
    }

    @Test(arguments: [
        (FramingError.objectTooLarge(limit: 65536), "message exceeds 65536 bytes"),
        (.unexpectedByte(UInt8(ascii: "x"), offset: 3), "unexpected byte 'x' at stream offset 3"),
        (.unexpectedByte(0x0A, offset: 0), "unexpected byte 0x0A at stream offset 0"),
        (.unexpectedByte(0xFF, offset: 9), "unexpected byte 0xFF at stream offset 9"),
        (.nestingTooDeep(limit: 64), "message nests objects and arrays deeper than 64 levels"),
    ])
    func describesErrorsForThePeer(error: FramingError, text: String) {
        #expect(error.description == text)
    }
}
