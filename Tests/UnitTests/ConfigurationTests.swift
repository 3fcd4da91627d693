import ServiceKit
import Testing

@Suite("Configuration from the environment")
struct ConfigurationTests {
    @Test(
        "durations parse with units",
        arguments: [
            ("15", Duration.seconds(15)), ("2.5", .milliseconds(2500)), ("15s", .seconds(15)),
            ("500ms", .milliseconds(500)), ("1m", .seconds(60)), ("1h", .seconds(3600)),
        ])
    func durations(_ text: String, _ expected: Duration) throws {
        let reader = EnvironmentReader(["POLL_INTERVAL": text])
        #expect(try reader.duration("POLL_INTERVAL", default: .seconds(1)) == expected)
    }

    @Test(
        "zero, negative, malformed and non-finite durations are errors naming the variable",
        arguments: ["0", "0s", "-1", "-5ms", "soon", "15x", "inf", "nan", "1e30"])
    func badDurations(_ text: String) {
        let reader = EnvironmentReader(["RUN_LEASE": text])
        do {
            _ = try reader.duration("RUN_LEASE", default: .seconds(60), minimum: .seconds(1))
            Issue.record("\(text) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == "RUN_LEASE")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("an unset duration takes its default")
    func defaultDuration() throws {
        #expect(try EnvironmentReader([:]).duration("POLL_INTERVAL", default: .seconds(15)) == .seconds(15))
    }

    @Test("integers outside their range name the variable")
    func integers() {
        #expect(throws: ConfigurationError.self) {
            try EnvironmentReader(["PORT": "70000"]).int("PORT", default: 1, range: 0...65535)
        }
    }
}
