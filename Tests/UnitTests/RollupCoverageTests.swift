import Foundation
import ServiceKit
import Testing

@testable import ServingService

/// How a report's window is split between sealed rollup periods and raw
/// ranges: every instant of the window in exactly one of them.
@Suite("Rollup coverage: a window as sealed periods and raw ranges")
struct RollupCoverageTests {
    /// 2026-12-07T00:00:00Z, a period boundary.
    static let midnight = Date(timeIntervalSince1970: 1_796_601_600)

    @Test("periods are 10 seconds from 2000-01-01T00:00:00Z")
    func periods() {
        #expect(RollupCoverage.periodStart(Self.midnight) == Self.midnight)
        #expect(RollupCoverage.periodStart(Self.midnight + 9.999_999) == Self.midnight)
        #expect(RollupCoverage.periodStart(Self.midnight + 10) == Self.midnight + 10)
        #expect(RollupCoverage.periodStart(Self.midnight - 0.000_001) == Self.midnight - 10)
        #expect(
            RollupCoverage.periodStart(Date(timeIntervalSince1970: 946_684_805)).timeIntervalSince1970 == 946_684_800)
    }

    @Test("nothing sealed: the whole window is raw, its end included")
    func unsealed() {
        let coverage = RollupCoverage(sealedUntil: nil, dirty: [])
        let (sealed, raw) = coverage.split(since: Self.midnight + 3, end: Self.midnight + 95)
        #expect(sealed == nil)
        #expect(raw == [LogTimeRange(from: Self.midnight + 3, to: Self.midnight + 95, includesEnd: true)])
    }

    @Test("sealed whole periods, the partial first period, the dirty ones and the unsealed tail raw")
    func split() {
        let coverage = RollupCoverage(sealedUntil: Self.midnight + 60, dirty: [Self.midnight + 20, Self.midnight - 30])
        let (sealed, raw) = coverage.split(since: Self.midnight + 3, end: Self.midnight + 95)
        #expect(sealed == (Self.midnight + 10)..<(Self.midnight + 60))
        #expect(
            raw == [
                LogTimeRange(from: Self.midnight + 3, to: Self.midnight + 10, includesEnd: false),
                LogTimeRange(from: Self.midnight + 20, to: Self.midnight + 30, includesEnd: false),
                LogTimeRange(from: Self.midnight + 60, to: Self.midnight + 95, includesEnd: true),
            ])
    }

    @Test("the period holding the window's end is read raw even when sealed (a clock ahead of the window)")
    func endPeriod() {
        let coverage = RollupCoverage(sealedUntil: Self.midnight + 120, dirty: [])
        let (sealed, raw) = coverage.split(since: Self.midnight, end: Self.midnight + 45)
        #expect(sealed == Self.midnight..<(Self.midnight + 40))
        #expect(raw == [LogTimeRange(from: Self.midnight + 40, to: Self.midnight + 45, includesEnd: true)])
        #expect(coverage.sealedEnd(before: Self.midnight + 45) == Self.midnight + 40)
    }

    @Test("a window inside one period, or ending before anything sealed, is all raw")
    func short() {
        let coverage = RollupCoverage(sealedUntil: Self.midnight + 60, dirty: [])
        #expect(coverage.split(since: Self.midnight + 31, end: Self.midnight + 38).sealed == nil)
        #expect(coverage.split(since: Self.midnight + 61, end: Self.midnight + 200).sealed == nil)
    }

    @Test("MONITORING_ROLLUP_INTERVAL: 5 s by default, 0 turns rollups off, a negative one is refused by name")
    func setting() throws {
        let base = ["DATABASE_URL": "postgresql://x@localhost/x", "ARTIFACTS_DIR": "/tmp"]
        #expect(try ServingConfiguration.fromEnvironment(EnvironmentReader(base)).rollupInterval == .seconds(5))
        let off = base.merging(["MONITORING_ROLLUP_INTERVAL": "0"]) { $1 }
        #expect(try ServingConfiguration.fromEnvironment(EnvironmentReader(off)).rollupInterval == .zero)
        let negative = base.merging(["MONITORING_ROLLUP_INTERVAL": "-1s"]) { $1 }
        #expect {
            try ServingConfiguration.fromEnvironment(EnvironmentReader(negative))
        } throws: { "\($0)".contains("MONITORING_ROLLUP_INTERVAL") }
    }
}
