import Foundation
import Testing

@testable import AgentKit

/// python3 and psutil, as independent references for the collectors' arithmetic.
enum PythonReference {
    /// Runs `python3 -c script` with `input` on stdin; its stdout, or `nil` when it cannot run or fails.
    static func run(_ script: String, input: String = "") -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: output, as: UTF8.self)
    }

    /// psutil is the reference the report's agent used; the tests comparing with it run only where it is installed.
    static let psutilAvailable = run("import psutil") != nil
}

/// The collectors against psutil itself, the reference of the report's agent.
@Suite(
    .enabled(if: PythonReference.psutilAvailable, "python3 with psutil is not installed (pip install psutil); skipping")
)
struct CollectorPsutilTests {
    @Test func usedPercentMatchesVirtualMemoryPercent() throws {
        let ours = try SystemCollector().memory().usedPercent
        let output = try #require(PythonReference.run("import psutil; print(psutil.virtual_memory().percent)"))
        let theirs = try #require(Double(output.trimmingCharacters(in: .whitespacesAndNewlines)))
        let again = try SystemCollector().memory().usedPercent
        // Memory use moves between the three reads; they bracket each other within a small tolerance.
        #expect(abs(ours - theirs) <= 0.5 || abs(again - theirs) <= 0.5, "ours \(ours), psutil \(theirs)")
    }

    @Test func interruptsMatchCPUStats() throws {
        let before = try SystemCollector().interrupts()
        let output = try #require(PythonReference.run("import psutil; print(psutil.cpu_stats().interrupts)"))
        let after = try SystemCollector().interrupts()
        let theirs = try #require(UInt64(output.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(before <= theirs && theirs <= after)
    }

    @Test func busyPercentMatchesCPUPercentOnManyCounterPairs() throws {
        // psutil's own helpers on the same tick counts (converted to seconds as psutil does), through the body
        // of cpu_percent's inner `calculate`.
        let script = """
            import sys, psutil
            from psutil import _cpu_times_deltas, _cpu_tot_time, _cpu_busy_time
            nt = psutil._ntp.scputimes if hasattr(psutil, "_ntp") else psutil._psplatform.scputimes
            n = len(nt._fields)
            for line in sys.stdin:
                a, b = line.split("|")
                t1 = nt(*[int(x) / 100 for x in a.split()][:n])
                t2 = nt(*[int(x) / 100 for x in b.split()][:n])
                d = _cpu_times_deltas(t1, t2)
                total = _cpu_tot_time(d); busy = _cpu_busy_time(d)
                try:
                    print(round(busy / total * 100, 1))
                except ZeroDivisionError:
                    print(0.0)
            """
        var generator = SystemRandomNumberGenerator()
        var pairs: [(CPUTimes, CPUTimes)] = []
        for index in 0..<500 {
            func times(_ base: UInt64) -> CPUTimes {
                // Guest time is part of user (and guest_nice of nice) time, as the kernel counts it.
                let userTicks = UInt64.random(in: 0...400, using: &generator)
                let niceTicks = UInt64.random(in: 0...50, using: &generator)
                return CPUTimes(
                    user: base + userTicks, nice: base + niceTicks,
                    system: base + .random(in: 0...200, using: &generator),
                    idle: base + .random(in: 0...800, using: &generator),
                    iowait: base + .random(in: 0...30, using: &generator),
                    irq: base + .random(in: 0...5, using: &generator),
                    softirq: base + .random(in: 0...20, using: &generator),
                    steal: base + .random(in: 0...10, using: &generator),
                    guest: base + .random(in: 0...min(userTicks, 60), using: &generator),
                    guestNice: base + .random(in: 0...min(niceTicks, 10), using: &generator))
            }
            let first = times(1_000_000)
            // Mostly forward, sometimes a counter going backwards, sometimes no change at all.
            let second = index % 50 == 0 ? first : times(1_000_000 + 1000)
            pairs.append(index % 7 == 0 ? (second, first) : (first, second))
        }
        func columns(_ times: CPUTimes) -> String { times.fields.map(String.init).joined(separator: " ") }
        let input = pairs.map { "\(columns($0.0))|\(columns($0.1))" }.joined(separator: "\n") + "\n"
        let output = try #require(PythonReference.run(script, input: input))
        let theirs = output.split(separator: "\n").compactMap { Double($0) }
        try #require(theirs.count == pairs.count)
        var exact = 0
        for ((start, end), reference) in zip(pairs, theirs) {
            let ours = end.busyPercent(since: start)
            // psutil works on float seconds, so a value on a rounding tie can land on either side. (On impossible
            // counters, guest rising while user does not, psutil's float noise even turns 0/0 into 100%.)
            #expect(abs(ours - reference) <= 0.1 + 1e-9, "\(start) -> \(end): ours \(ours), psutil \(reference)")
            if ours == reference { exact += 1 }
        }
        #expect(exact >= pairs.count * 95 / 100, "only \(exact) of \(pairs.count) identical")
    }

    @Test func roundingMatchesPythonsRound() throws {
        var values: [Double] = [0.15, 0.25, 0.35, 2.675, 1.05, 58.45, 99.95, 0.05, 100, 0]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            values.append(
                Double(UInt64.random(in: 0...1_000_000, using: &generator))
                    / Double(UInt64.random(in: 1...1_000_000, using: &generator)) * 100)
            values.append(Double(UInt64.random(in: 0...10_000, using: &generator)) / 100 + 0.05)
        }
        let input = values.map { "\($0)" }.joined(separator: "\n") + "\n"
        let output = try #require(
            PythonReference.run("import sys\nfor l in sys.stdin: print(repr(round(float(l), 1)))", input: input))
        let theirs = output.split(separator: "\n").compactMap { Double($0) }
        try #require(theirs.count == values.count)
        for (value, reference) in zip(values, theirs) {
            #expect(value.roundedToOneDecimal == reference, "round(\(value), 1)")
        }
    }
}
