import Foundation
import Metrics

/// What `vcs` exports about its work (besides the HTTP counters every service has).
enum VCSMetrics {
    /// `conveyor_vcs_syncs_total{outcome}` and `conveyor_vcs_sync_seconds`.
    static func sync(succeeded: Bool, seconds: Double) {
        Counter(label: "conveyor_vcs_syncs_total", dimensions: [("outcome", succeeded ? "succeeded" : "failed")])
            .increment()
        Timer(label: "conveyor_vcs_sync_seconds").recordSeconds(seconds)
    }

    /// `conveyor_vcs_records_total{result}`: fetched from GitHub, upserted into Postgres, rejected.
    static func records(fetched: Int, upserted: Int, rejected: Int, notModified: Int) {
        for (result, count) in [("fetched", fetched), ("upserted", upserted), ("rejected", rejected)] where count > 0 {
            Counter(label: "conveyor_vcs_records_total", dimensions: [("result", result)]).increment(by: count)
        }
        if notModified > 0 { Counter(label: "conveyor_vcs_not_modified_total").increment(by: notModified) }
    }

    /// `conveyor_vcs_pages_total`: pages of pull requests asked of GitHub (304s included).
    static func pages(_ count: Int) {
        Counter(label: "conveyor_vcs_pages_total").increment(by: count)
    }

    /// `conveyor_vcs_last_success_timestamp_seconds` (Unix time of the last
    /// sync that succeeded) and `conveyor_vcs_bookmark_age_seconds` (how old the
    /// newest `updated_at` the tap has seen is: quiet repositories grow it too).
    static func succeeded(at now: Date, bookmark: String?) {
        Gauge(label: "conveyor_vcs_last_success_timestamp_seconds").record(now.timeIntervalSince1970)
        let styles = [Date.ISO8601FormatStyle(), Date.ISO8601FormatStyle(includingFractionalSeconds: true)]
        if let bookmark, let date = styles.lazy.compactMap({ try? $0.parse(bookmark) }).first {
            Gauge(label: "conveyor_vcs_bookmark_age_seconds").record(max(0, now.timeIntervalSince(date)))
        }
    }

    /// `conveyor_github_retries_total{cause}`: `server_error` (5xx), `not_json`, `network`.
    static func retry(cause: String) {
        Counter(label: "conveyor_github_retries_total", dimensions: [("cause", cause)]).increment()
    }

    /// `conveyor_singer_rows_total{table}`: rows the Singer target wrote, per table (children included).
    static func singerRows(_ rowsByTable: [String: Int]) {
        for (table, rows) in rowsByTable where rows > 0 {
            Counter(label: "conveyor_singer_rows_total", dimensions: [("table", table)]).increment(by: rows)
        }
    }

    /// `conveyor_github_rate_limit_remaining` and `conveyor_github_rate_limit_limit`:
    /// the last `X-RateLimit-Remaining` and `X-RateLimit-Limit` GitHub sent.
    static func rateLimit(remaining: Double, limit: Double?) {
        Gauge(label: "conveyor_github_rate_limit_remaining").record(remaining)
        if let limit { Gauge(label: "conveyor_github_rate_limit_limit").record(limit) }
    }

    /// `conveyor_github_rate_limit_waits_total` and `conveyor_github_rate_limit_wait_seconds_total`.
    static func rateLimitWait(seconds: Double) {
        Counter(label: "conveyor_github_rate_limit_waits_total").increment()
        FloatingPointCounter(label: "conveyor_github_rate_limit_wait_seconds_total").increment(by: seconds)
    }

    /// `conveyor_webhook_deliveries_total{event,result}`; events other than GitHub's
    /// `pull_request` and `ping` count as `other`, so a client cannot mint label values.
    static func webhook(event: String?, result: String) {
        let known = ["pull_request", "ping"].contains(event ?? "") ? event! : "other"
        Counter(label: "conveyor_webhook_deliveries_total", dimensions: [("event", known), ("result", result)])
            .increment()
    }
}
