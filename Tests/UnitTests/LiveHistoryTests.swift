import JSON
import Learning
import Registry
import ServiceKit
import Testing

@Suite("Rollback history")
struct LiveHistoryTests {
    static func history(_ events: [String]) -> LiveHistory {
        LiveHistory(
            events.map { event in
                let isRollback = event.hasPrefix("<")
                return (version: isRollback ? String(event.dropFirst()) : event, model: "m", isRollback: isRollback)
            })
    }

    @Test(
        "rollbacks walk back the versions that were live, and stop at the first",
        arguments: [
            (["v1", "v2", "v3"], "v2"), (["v1", "v2", "v3", "<v2"], "v1"), (["v1", "v2", "v3", "<v2", "<v1"], nil),
            (["v1", "v2", "<v1", "v3"], "v1"), (["v1"], nil), ([], nil),
            // An admin redeployed the live version: still one entry, so a rollback leaves it.
            (["v1", "v2", "v2"], "v1"), (["v1", "v2", "v2", "v2", "<v1"], nil),
        ] as [([String], String?)])
    func previous(_ events: [String], _ expected: String?) {
        #expect(Self.history(events).previous?.version == expected)
    }

    @Test("a version marked bad is skipped; the newest deployment's kind is known")
    func skipsBad() {
        let history = LiveHistory(
            [("v1", "m", false), ("v2", "m", false), ("v3", "m", false)], bad: ["v2"])
        #expect(history.previous?.version == "v1")
        #expect(!history.liveIsRollback)
        #expect(Self.history(["v1", "v2", "<v1"]).liveIsRollback)
    }
}
