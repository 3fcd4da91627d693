import Metrics

extension VCSMetrics {
    /// Creates vcs's counters at zero, so alert rules and the dashboard find
    /// every series from the first scrape.
    static func declare() {
        for outcome in ["succeeded", "failed"] {
            Counter(label: "conveyor_vcs_syncs_total", dimensions: [("outcome", outcome)]).increment(by: 0)
        }
        for result in ["fetched", "upserted", "rejected"] {
            Counter(label: "conveyor_vcs_records_total", dimensions: [("result", result)]).increment(by: 0)
        }
        for label in [
            "conveyor_vcs_not_modified_total", "conveyor_vcs_pages_total", "conveyor_github_rate_limit_waits_total",
        ] {
            Counter(label: label).increment(by: 0)
        }
        FloatingPointCounter(label: "conveyor_github_rate_limit_wait_seconds_total").increment(by: 0)
        for cause in ["server_error", "not_json", "network"] {
            Counter(label: "conveyor_github_retries_total", dimensions: [("cause", cause)]).increment(by: 0)
        }
        let results = [
            "pull_request": ["applied", "duplicate", "ignored"], "ping": ["pong"], "other": ["ignored"],
        ]
        for (event, specific) in results {
            for result in specific + ["bad_signature", "refused", "invalid"] {
                Counter(label: "conveyor_webhook_deliveries_total", dimensions: [("event", event), ("result", result)])
                    .increment(by: 0)
            }
        }
    }
}
