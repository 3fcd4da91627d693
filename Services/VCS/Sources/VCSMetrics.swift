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

    /// `conveyor_github_rate_limit_remaining`: the last `X-RateLimit-Remaining` GitHub sent.
    static func rateLimitRemaining(_ remaining: Double) {
        Gauge(label: "conveyor_github_rate_limit_remaining").record(remaining)
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
