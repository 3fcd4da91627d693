import Foundation
import Learning
import Registry
import Synchronization

/// `GET /` for browsers: the live model card, the timeline of every run,
/// each metric across the deployed versions with the gate bounds, live
/// traffic, drift and live metrics, and the latest deployments.
struct HomePage {
    struct LiveCard {
        let name: String
        let version: String
        let task: String
        let algorithm: String
        let producer: String?
        let pullRequest: PullRequestReference
        let trainedAt: String
        let deployedAt: String
        let reason: String
    }

    struct MetricChart {
        let metric: String
        let chart: SVGChart
    }

    struct Traffic {
        let chart: SVGChart?
        let requests: Int
        let p50: String
        let p99: String
        let refusedShare: String
    }

    struct DriftRow {
        let feature: String
        let method: String
        let value: String
        let threshold: String
        let state: String
        let stateClass: String
    }

    struct LiveMetric {
        let metric: String
        let live: String
        let training: String
    }

    struct Monitoring {
        let window: String
        let rows: Int
        let drift: [DriftRow]
        let liveMetrics: [LiveMetric]
        let hasLiveMetrics: Bool
        let driftShare: String
    }

    struct DeploymentLine {
        let id: Int64
        let version: String
        let kind: String
        let reason: String
        let when: String

        init(_ deployment: DashboardStore.Deployment) {
            id = deployment.id
            version = deployment.version
            kind = deployment.kind.rawValue
            reason = deployment.reason
            when = DashboardFormat.date(deployment.deployedAt)
        }
    }

    let live: LiveCard?
    let timeline: [TimelineEntry]
    let charts: [MetricChart]
    let traffic: Traffic
    let monitoring: Monitoring?
    let deployments: [DeploymentLine]
    let versionCount: Int

    /// The page of `model`; with `scope`, only that model's runs, versions, deployments and traffic.
    static func build(
        store: DashboardStore, model: LoadedModel?, links: GitHubLinks, scope: String? = nil
    ) async throws -> HomePage {
        async let runs = store.runs(limit: 100, model: scope)
        async let versions = store.versions(model: scope)
        async let deployments = store.deployments(limit: 10, model: scope)
        async let traffic = store.traffic(minutes: 180, model: scope)
        let liveVersion = model?.deployment.version
        async let report = liveVersion.asyncMap { try await store.latestReport(version: $0) }
        async let liveRecord = liveVersion.asyncMap { try await store.version($0) }
        let versionList = try await versions
        return HomePage(
            live: model.map { card($0, links: links) },
            timeline: try await runs.map { TimelineEntry($0, liveVersion: liveVersion, repository: links) },
            charts: charts(versionList, gates: (try await liveRecord)??.gates ?? []),
            traffic: trafficView(try await traffic), monitoring: (try await report)?.map(monitoringView),
            deployments: try await deployments.map(DeploymentLine.init), versionCount: versionList.count)
    }

    private static func card(_ model: LoadedModel, links: GitHubLinks) -> LiveCard {
        let deployment = model.deployment
        let artifact = model.artifact
        return LiveCard(
            name: artifact.name, version: deployment.version, task: artifact.task.rawValue,
            algorithm: artifact.algorithm, producer: artifact.onnxProducer,
            pullRequest: PullRequestReference(
                number: deployment.prNumber, title: deployment.prTitle, author: deployment.prAuthor,
                commit: deployment.commitSHA, links: links),
            trainedAt: DashboardFormat.date(artifact.trainedAt),
            deployedAt: DashboardFormat.date(deployment.deployedAt), reason: deployment.reason)
    }

    /// One chart per metric: a point per deployed version, the live version's gate bounds as lines.
    static func charts(_ versions: [DashboardStore.Version], gates liveGates: [DashboardStore.GateRecord])
        -> [MetricChart]
    {
        let metrics = Set(versions.flatMap(\.metrics.keys)).sorted()
        return metrics.map { metric in
            let points = versions.enumerated().compactMap { index, version in
                version.metrics[metric].map {
                    (x: Double(index), y: $0, title: "\(version.version): \(DashboardFormat.number($0))")
                }
            }
            let bounds = liveGates.filter { $0.gate == "\(metric).max" || $0.gate == "\(metric).min" }
                .compactMap { gate in gate.threshold.map { (label: gate.gate, value: $0) } }
            return MetricChart(
                metric: metric,
                chart: .lines(
                    title: "\(metric) by version",
                    series: [.init(lineClass: "series", pointClass: "point metric-point", points: points)],
                    xLabels: versions.map(\.version), bounds: bounds))
        }
    }

    private static func trafficView(_ traffic: DashboardStore.Traffic) -> Traffic {
        let minute = { (date: Date) -> String in
            let seconds = Int(date.timeIntervalSince1970)
            return String(format: "%02d:%02d", (seconds / 3600) % 24, (seconds / 60) % 60)
        }
        let chart =
            traffic.perMinute.isEmpty
            ? nil
            : SVGChart.lines(
                title: "predictions per minute",
                series: [
                    .init(
                        lineClass: "series", pointClass: "point",
                        points: traffic.perMinute.enumerated().map {
                            (Double($0.offset), Double($0.element.predictions), "\($0.element.predictions)")
                        })
                ], xLabels: traffic.perMinute.map { minute($0.minute) }, fromZero: true)
        let answered = PredictionRejections.answered.load(ordering: .relaxed)
        let refused = PredictionRejections.refused.load(ordering: .relaxed)
        let share =
            answered + refused == 0 ? "–" : String(format: "%.1f%%", 100 * Double(refused) / Double(answered + refused))
        return Traffic(
            chart: chart, requests: traffic.requests,
            p50: traffic.p50Milliseconds.map { String(format: "%.2f ms", $0) } ?? "–",
            p99: traffic.p99Milliseconds.map { String(format: "%.2f ms", $0) } ?? "–", refusedShare: share)
    }

    private static func monitoringView(_ report: MonitoringReport) -> Monitoring {
        let drift = (report.features + (report.prediction.map { [$0] } ?? [])).map { feature in
            DriftRow(
                feature: feature.feature, method: feature.method.rawValue, value: DashboardFormat.number(feature.value),
                threshold: DashboardFormat.number(feature.threshold), state: feature.drifted ? "drifted" : "ok",
                stateClass: feature.drifted ? "state-drifted" : "state-ok")
        }
        let live = report.liveMetrics.sorted { $0.key < $1.key }.map {
            LiveMetric(
                metric: $0.key, live: DashboardFormat.number($0.value),
                training: report.trainingMetrics[$0.key].map(DashboardFormat.number) ?? "–")
        }
        return Monitoring(
            window: "\(DashboardFormat.date(report.windowStart)) – \(DashboardFormat.date(report.windowEnd))",
            rows: report.rows, drift: drift, liveMetrics: live, hasLiveMetrics: !live.isEmpty,
            driftShare: String(format: "%.0f%%", report.driftShare * 100))
    }

    static let template = """
        {{> head}}
        {{#page}}
        {{#live}}
        <section class="card" id="live-model">
        <h1>{{name}} <span class="state state-live">live</span> <code id="live-version">{{version}}</code></h1>
        <p>{{task}} by <strong>{{algorithm}}</strong>{{#producer}} (ONNX from {{producer}}){{/producer}} ·
        <a href="/versions/{{version}}">everything about this version</a> · <a href="/predict">try it</a></p>
        <p>{{#pullRequest}}{{> pullRequest}}{{/pullRequest}}</p>
        <p class="muted">Trained {{trainedAt}} · deployed {{deployedAt}} ({{reason}})</p>
        </section>
        {{/live}}
        {{^live}}<section class="card" id="live-model"><h1>No model is deployed yet</h1>
        <p>Merge a pull request into the model repository (or <code>GET /checkout</code> on vcs); the timeline below shows each run.</p></section>{{/live}}

        <h2>Timeline</h2>
        <p class="muted small">Every training run, newest first. Pick two deployed versions to compare them.
        <button type="button" id="compare-picked" disabled>Compare picked versions</button> · <a href="/runs">all runs</a></p>
        <table id="timeline"><tr><th></th><th>run</th><th>pull request</th><th>state</th><th>version</th><th>why</th><th>when</th></tr>
        {{#timeline}}<tr class="timeline-entry" data-run="{{runID}}" data-state="{{state}}">
        <td>{{#version}}<input type="checkbox" class="pick" value="{{version}}" aria-label="pick {{version}}">{{/version}}</td>
        <td><a href="/runs/{{runID}}">{{runID}}</a></td>
        <td>{{#prURL}}<a href="{{prURL}}">#{{prNumber}}</a>{{/prURL}}{{^prURL}}#{{prNumber}}{{/prURL}} <span class="pr-title">{{prTitle}}</span> <span class="muted">{{prAuthor}}</span></td>
        <td><span class="state {{stateClass}}">{{state}}</span></td>
        <td>{{#version}}<a href="{{href}}"><code>{{version}}</code></a>{{/version}}</td>
        <td class="small">{{reason}}</td><td class="small muted">{{created}}</td></tr>{{/timeline}}
        </table>

        <h2>Metrics across versions</h2>
        <p class="muted small">One point per deployed version ({{versionCount}}), oldest left; dashed lines are the live version's gate bounds.</p>
        <div class="cards">{{#charts}}<div class="card metric-chart" data-metric="{{metric}}"><h2>{{metric}}</h2>{{#chart}}{{> chart}}{{/chart}}</div>{{/charts}}</div>

        {{#traffic}}
        <h2>Live traffic (last 3 hours)</h2>
        <p>{{requests}} logged requests · latency p50 {{p50}}, p99 {{p99}} · refused (4xx) on this replica since start: {{refusedShare}}</p>
        {{#chart}}{{> chart}}{{/chart}}
        {{/traffic}}

        {{#monitoring}}
        <h2>Drift and live metrics</h2>
        <p class="muted">Window {{window}} · {{rows}} rows · {{driftShare}} of features drifted · <a href="/monitoring">JSON</a></p>
        <table id="drift"><tr><th>feature</th><th>method</th><th>value</th><th>threshold</th><th>state</th></tr>
        {{#drift}}<tr><td><code>{{feature}}</code></td><td>{{method}}</td><td class="num">{{value}}</td><td class="num">{{threshold}}</td>
        <td><span class="state {{stateClass}}">{{state}}</span></td></tr>{{/drift}}</table>
        {{#hasLiveMetrics}}<table id="live-metrics"><tr><th>metric</th><th>live</th><th>at training</th></tr>
        {{#liveMetrics}}<tr><td>{{metric}}</td><td class="num">{{live}}</td><td class="num">{{training}}</td></tr>{{/liveMetrics}}</table>{{/hasLiveMetrics}}
        {{/monitoring}}

        <h2>Deployments</h2>
        <table id="deployments"><tr><th>#</th><th>version</th><th>kind</th><th>reason</th><th>when</th></tr>
        {{#deployments}}<tr><td>{{id}}</td><td><a href="/versions/{{version}}"><code>{{version}}</code></a></td><td>{{kind}}</td>
        <td class="small">{{reason}}</td><td class="small muted">{{when}}</td></tr>{{/deployments}}</table>
        {{/page}}
        <script src="/static/dashboard.js"></script>
        {{> foot}}
        """
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): try await transform(value)
        case .none: nil
        }
    }
}
