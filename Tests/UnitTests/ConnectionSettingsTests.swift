import Foundation
import ServiceKit
import Testing

/// `MAX_CONNECTIONS` follows the descriptors the process has (`RLIMIT_NOFILE`).
@Suite("Connection limits from the descriptor limit")
struct ConnectionSettingsTests {
    static let common = DescriptorLimit(soft: 1024, hard: 1024)

    @Test("with the common 1024-descriptor limit the default leaves headroom, on one port or shared by two")
    func defaultFits() throws {
        let one = try HTTPServerSettings.fromEnvironment(EnvironmentReader([:]), descriptors: Self.common)
        #expect(one.maxConnections + DescriptorLimit.reserved <= 1024, "\(one.maxConnections)")
        let two = try HTTPServerSettings.fromEnvironment(EnvironmentReader([:]), listeners: 2, descriptors: Self.common)
        #expect(2 * two.maxConnections + DescriptorLimit.reserved <= 1024, "\(two.maxConnections)")
        #expect(two.maxConnections >= 400, "still a useful number: \(two.maxConnections)")
        let roomy = DescriptorLimit(soft: 1 << 20, hard: 1 << 20)
        #expect(roomy.defaultMaxConnections(listeners: 2) == 2048, "capped where it always was")
    }

    @Test("a MAX_CONNECTIONS the descriptors cannot hold stops start-up naming the variable and the limit")
    func tooManyRefused() {
        do {
            _ = try HTTPServerSettings.fromEnvironment(
                EnvironmentReader(["MAX_CONNECTIONS": "2048"]), listeners: 2, descriptors: Self.common)
            Issue.record("2048 per port was accepted with 1024 descriptors")
        } catch let error as ConfigurationError {
            #expect(error.variable == "MAX_CONNECTIONS")
            #expect(error.problem.contains("1024") && error.problem.contains("at most 448"), "\(error.problem)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(
            (try? HTTPServerSettings.fromEnvironment(
                EnvironmentReader(["MAX_CONNECTIONS": "400"]), listeners: 2, descriptors: Self.common))?
                .maxConnections == 400)
    }

    @Test("start-up raises the soft descriptor limit to the hard one")
    func raisedAtStartup() {
        let limit = DescriptorLimit.atStartup
        var current = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &current)
        #expect(Int(current.rlim_cur) == limit.soft)
        #expect(limit.soft == min(limit.hard, 1 << 20), "soft \(limit.soft), hard \(limit.hard)")
    }
}
