import Foundation
import TestSupport
import Testing

/// SPEC §2's command line: --check-config exit codes and messages, --version, --help.
@Suite("Command line")
struct CommandLineTests {
    static let binaries = [("monitord", "monitord"), ("monitor-agent", "agent")]

    func run(_ binary: String, _ arguments: [String]) async throws -> (Int32, String) {
        let process = try RunningProcess(executable: Products.directory + "/" + binary, arguments: arguments)
        let status = try #require(await process.waitForExit(timeout: 20))
        return (status, process.output)
    }

    /// Audit 7, 05: under a limit of 20 descriptors monitord ran with one connection per port and no
    /// reserve, and the first burst made `accept` fail (the HTTP listener stopped for good, or the
    /// process died in NIO). Now a limit that cannot hold the reserve stops the start, naming it.
    @Test("an open-file limit too small for monitord's reserve stops the start with the limit named")
    func descriptorLimitBelowTheReserve() async throws {
        let dir = try makeTemporaryDirectory()
        try "[monitord]\nlisten = 127.0.0.1:0\nmetrics-listen = 127.0.0.1:0\n".write(
            toFile: dir + "/m.conf", atomically: true, encoding: .utf8)
        let process = try RunningProcess(
            executable: "/usr/bin/prlimit",
            arguments: ["--nofile=100:100", "--", Products.monitord, "--config", dir + "/m.conf"])
        defer { process.signal(SIGKILL) }
        let status = try #require(await process.waitForExit(timeout: 20), "monitord did not stop: \(process.output)")
        #expect(status == 1)
        #expect(process.output.contains("open-file limit (descriptors, RLIMIT_NOFILE) is 100"), "\(process.output)")
    }

    /// Audit 7, 03: the agent's --check-config said "valid" for TLS files it could not load, and the
    /// agent then refused to start with exit 1.
    @Test("monitor-agent --check-config loads its TLS files: a missing CA file or a device is 78, named")
    func agentCheckConfigLoadsTLSFiles() async throws {
        let dir = try makeTemporaryDirectory()
        for (caFile, said) in [(dir + "/none.pem", "No such file"), ("/dev/zero", "not a regular file")] {
            try "[agent]\nserver = 127.0.0.1:1\ntls = yes\ntls-ca-file = \(caFile)\n".write(
                toFile: dir + "/agent.conf", atomically: true, encoding: .utf8)
            let (status, output) = try await run("monitor-agent", ["--config", dir + "/agent.conf", "--check-config"])
            #expect(status == 78, "\(caFile): \(output)")
            #expect(output.contains("tls-ca-file \(caFile)") && output.contains(said), "\(output)")
        }
    }

    @Test("--version prints the version", arguments: binaries)
    func version(binary: String, section: String) async throws {
        let (status, output) = try await run(binary, ["--version"])
        #expect(status == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).contains(/^\d+\.\d+\.\d+/))
    }

    @Test("--help names the options", arguments: binaries)
    func help(binary: String, section: String) async throws {
        let (status, output) = try await run(binary, ["--help"])
        #expect(status == 0)
        for option in ["--config", "--check-config", "--version"] {
            #expect(output.contains(option), "\(option) missing from:\n\(output)")
        }
    }

    @Test("a bad command line: exit 64 (EX_USAGE), the mistake named and the usage shown", arguments: binaries)
    func usageErrors(binary: String, section: String) async throws {
        for (arguments, mistake) in [
            (["--no-such-option"], "'--no-such-option'"), (["--config"], "--config"), (["stray"], "'stray'"),
        ] {
            let (status, output) = try await run(binary, arguments)
            #expect(status == 64, "\(arguments): \(output)")
            #expect(output.contains(mistake), "\(arguments): \(output)")
            #expect(output.contains("Usage: \(binary)"), "\(arguments): \(output)")
        }
        // --config=PATH is the same as --config PATH.
        let dir = try makeTemporaryDirectory()
        try "[\(section == "agent" ? "agent" : "monitord")]\n".write(
            toFile: dir + "/c.conf", atomically: true, encoding: .utf8)
        let (status, _) = try await run(binary, ["--config=\(dir)/c.conf", "--check-config"])
        #expect(status == 0)
    }

    @Test("--check-config: 0 for a valid file, 78 and file:line for a broken one", arguments: binaries)
    func checkConfig(binary: String, section: String) async throws {
        let dir = try makeTemporaryDirectory()
        let good = dir + "/good.conf"
        try "[\(section == "agent" ? "agent" : "monitord")]\n# fine\n".write(
            toFile: good, atomically: true, encoding: .utf8)
        let (okStatus, _) = try await run(binary, ["--config", good, "--check-config"])
        #expect(okStatus == 0)

        let bad = dir + "/bad.conf"
        try "[\(section == "agent" ? "agent" : "monitord")]\n\nno-such-key = 1\n".write(
            toFile: bad, atomically: true, encoding: .utf8)
        let (badStatus, badOutput) = try await run(binary, ["--config", bad, "--check-config"])
        #expect(badStatus == 78)
        #expect(badOutput.contains("\(bad):3:"), "\(badOutput)")

        // Starting (not only checking) with a broken file is refused the same way.
        let (startStatus, startOutput) = try await run(binary, ["--config", bad])
        #expect(startStatus == 78)
        #expect(startOutput.contains("\(bad):3:"))

        let (missingStatus, missingOutput) = try await run(
            binary, ["--config", dir + "/absent.conf", "--check-config"])
        #expect(missingStatus == 78)
        #expect(missingOutput.contains("absent.conf"))
    }

    @Test(
        "listen and metrics-listen on one address (or a wildcard and the same port) are refused, naming both keys",
        arguments: [
            ("127.0.0.1:45598", "127.0.0.1:45598"), ("0.0.0.0:45598", "127.0.0.1:45598"),
            ("127.0.0.1:45598", "[::]:45598"), ("[::1]:45598", "[::]:45598"),
        ])
    func listenAndMetricsListenCollide(listen: String, metricsListen: String) async throws {
        let dir = try makeTemporaryDirectory()
        let file = dir + "/m.conf"
        try "[monitord]\nlisten = \(listen)\nmetrics-listen = \(metricsListen)\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        for arguments in [["--config", file, "--check-config"], ["--config", file]] {
            let (status, output) = try await run("monitord", arguments)
            #expect(status == 78, "\(arguments): \(output)")
            #expect(output.contains("\(file):3:"), "\(output)")
            #expect(output.contains("listen") && output.contains("metrics-listen"), "\(output)")
            #expect(output.contains("same address"), "\(output)")
        }
        // Different ports, or an IPv4 address beside a different IPv4 address, are fine.
        try "[monitord]\nlisten = 127.0.0.1:45598\nmetrics-listen = 127.0.0.2:45598\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        #expect(try await run("monitord", ["--config", file, "--check-config"]).0 == 0)
    }

    @Test("--check-config --verbose prints the effective configuration with defaults", arguments: binaries)
    func verbose(binary: String, section: String) async throws {
        let dir = try makeTemporaryDirectory()
        let file = dir + "/c.conf"
        try "".write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try await run(binary, ["--config", file, "--check-config", "--verbose"])
        #expect(status == 0)
        let expected =
            section == "agent" ? ["interval", "cpu-window", "server"] : ["listen", "metrics-listen", "agent-timeout"]
        for key in expected {
            #expect(output.contains(key), "\(key) missing from:\n\(output)")
        }
    }

    /// Issue 11, defect 8: the agent's secret stays out of terminals, and its exposure is named.
    @Test("--check-config --verbose never prints the agent's token, and warns where it is exposed")
    func agentTokenRedacted() async throws {
        let token = "s3cret-token-0123456789abcdef"
        let file = try makeTemporaryDirectory() + "/agent.conf"
        try "[agent]\ntoken = \(token)\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        let (status, output) = try await run("monitor-agent", ["--config", file, "--check-config", "--verbose"])
        #expect(status == 0)
        #expect(!output.contains(token), "\(output)")
        #expect(output.contains("# token = (set, \(token.utf8.count) bytes; not shown)"), "\(output)")
        #expect(output.contains("token is sent over plain TCP"), "\(output)")
        #expect(output.contains("accessible to all users (mode 0644)"), "\(output)")

        chmod(file, 0o600)
        try "[agent]\ntoken = \(token)\ntls = yes\n".write(toFile: file, atomically: false, encoding: .utf8)
        let (_, quiet) = try await run("monitor-agent", ["--config", file, "--check-config"])
        #expect(!quiet.contains("warning"), "\(quiet)")
    }
}
