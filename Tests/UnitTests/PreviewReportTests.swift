import Foundation
import Registry
import Testing

@testable import TrainerService

@Suite("PR preview reports")
struct PreviewReportTests {
    static func report(_ status: RunOutcome, reason: String?) -> PreviewReport {
        PreviewReport(run: 7, pr: 3, commit: "abcdef1234567", status: status, reason: reason, outcome: nil, live: nil)
    }

    @Test(
        "each ending has the commit state GitHub shows",
        arguments: [
            (RunOutcome.succeeded, "success"), (.rejected, "failure"), (.failed, "error"), (.cancelled, "error"),
        ])
    func states(status: RunOutcome, state: String) {
        #expect(Self.report(status, reason: nil).state == state)
    }

    @Test("a failure's description is the reason, cut to GitHub's 140 characters")
    func description() {
        #expect(
            Self.report(.failed, reason: "manifest: name is required").description
                == "error: manifest: name is required")
        let long = Self.report(.failed, reason: String(repeating: "x", count: 300)).description
        #expect(long.count == 140 && long.hasSuffix("…"))
        #expect(
            Self.report(.cancelled, reason: "superseded by a newer push (1234567)").description
                == "superseded by a newer push (1234567)")
    }

    @Test("the comment is marked, names the commit, escapes what came from the PR and links the run")
    func markdown() {
        let text = Self.report(.failed, reason: "bad | <script>alert(1)</script>\nnext").markdown(
            dashboardRunURL: "http://dash/runs/7")
        #expect(text.hasPrefix(PreviewReport.marker))
        #expect(text.contains("`abcdef1`"))
        #expect(text.contains("bad \\| &lt;script&gt;alert(1)&lt;/script&gt; next"))
        #expect(!text.contains("<script>"))
        #expect(text.contains("[Run 7 on the dashboard](http://dash/runs/7)"))
    }

    @Test("changes read as signed percentages; the headline metric is rmse, then accuracy")
    func numbers() {
        #expect(PreviewReport.percent(-0.021) == "−2.1%")
        #expect(PreviewReport.percent(0.5) == "+50.0%")
        #expect(PreviewReport.primary(["mae": 1, "rmse": 2]) == "rmse")
        #expect(PreviewReport.primary(["f1": 1, "accuracy": 0.9]) == "accuracy")
        #expect(PreviewReport.primary(["b": 1, "a": 2]) == "a")
        #expect(PreviewReport.number(3.04234) == "3.042")
    }
}
