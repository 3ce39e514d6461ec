// Quick throughput check of the protocol hot path (not a fuzz target), against the two
// modules it needs, each compiled from its folder:
//
//   mkdir -p .build/bench && for module in MonitorModel MonitorProtocol; do
//       swiftc -O -parse-as-library -wmo -package-name monitord -enable-testing -I .build/bench \
//           -enable-upcoming-feature InternalImportsByDefault -module-name $module -emit-module \
//           -emit-module-path .build/bench/$module.swiftmodule -c Sources/$module/*.swift -o .build/bench/$module.o
//   done && swiftc -O -parse-as-library -I .build/bench Fuzz/Benchmark.swift .build/bench/*.o \
//       -o .build/protocol-benchmark && .build/protocol-benchmark
//
// Compares our decoder with Foundation's JSONDecoder on the same sample line.

import FoundationEssentials
import Glibc
import MonitorModel

@testable import MonitorProtocol

private struct WireSample: Decodable {
    var type: String
    var seq: UInt64
    var ts: Double
    var ram_percent: Double
    var cpu_percent: Double
    var process_ram_gib: Double
    var interrupts: UInt64
}

private func seconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

private func measure(_ name: String, iterations: Int, _ body: () throws -> Void) rethrows {
    let start = seconds()
    for _ in 0..<iterations {
        try body()
    }
    let elapsed = seconds() - start
    let perSecond = Double(iterations) / elapsed
    print("\(name): \(Int(elapsed / Double(iterations) * 1e9)) ns each, \(Int(perSecond)) per second")
}

@main
struct Benchmark {
    static func main() throws {
        let sample = Sample(
            sequence: 42, timestamp: 1_732_520_000.125, ramUsagePercent: 58.4, cpuUsagePercent: 2.8,
            processRAMGigabytes: 0.00927734375, cpuInterrupts: 706148)
        let line = ProtocolCodec.encode(AgentMessage.sample(sample))
        let object = Array(line.dropLast())
        let iterations = 500_000
        var checksum: UInt64 = 0

        measure("decodePeerMessage(sample)", iterations: iterations) {
            if case .native(.sample(let decoded))? = try? ProtocolCodec.decodePeerMessage(object) {
                checksum &+= decoded.sequence
            }
        }
        let data = Data(object)
        try measure("JSONDecoder(sample)", iterations: iterations / 5) {
            checksum &+= try JSONDecoder().decode(WireSample.self, from: data).seq
        }
        measure("encode(sample)", iterations: iterations) {
            checksum &+= UInt64(ProtocolCodec.encode(AgentMessage.sample(sample)).count)
        }
        let stream = [UInt8]((0..<400).map { _ in line }.joined())
        measure("splitter, 400 samples per 57 KB append", iterations: iterations / 400) {
            var splitter = JSONObjectSplitter()
            splitter.append(stream)
            while let object = try? splitter.nextObject() {
                checksum &+= UInt64(object.count)
            }
        }
        print("checksum \(checksum)")
    }
}
