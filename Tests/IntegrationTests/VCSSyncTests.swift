import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import Postgres
import ServiceKit
import Testing

@Suite("vcs: incremental sync against the sandbox", .serialized)
struct VCSSyncTests {
    @Test("pagination across 3 pages; a second sync is all 304s and costs no rate limit")
    func paginationThenNotModified() async throws {
        let vcs = try await VCSFixture()
        do {
            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/pulls/generate", #"{"count": 250}"#)
            let (status, first) = try await vcs.checkout()
            #expect(status == 200, "\(first)")
            #expect(first["pages"]?.integerValue == 3)
            #expect(first["records_fetched"]?.integerValue == 251)
            #expect(first["records_upserted"]?.integerValue == 251)
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests") == 251)
            let state = try #require(try await vcs.storedState())
            #expect(state["bookmarks"]?[VCSFixture.repository]?["pull_requests"]?["etag"]?.stringValue != nil)

            let (_, second) = try await vcs.checkout()
            #expect(second["not_modified"]?.integerValue == 1)
            #expect(second["pages"]?.integerValue == 0)
            #expect(second["records_upserted"]?.integerValue == 0)
            let (_, counts) = try await vcs.call("GET", "\(vcs.sandboxURL)/_sandbox/requests")
            #expect(counts["not_modified"]?.integerValue == 1)
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test("a sync broken by a 5xx burst keeps the old bookmark; the next resumes with no gaps or duplicates")
    func fiveHundredBurstThenResume() async throws {
        let vcs = try await VCSFixture(settings: ["GITHUB_RETRY_ATTEMPTS": "5"])
        do {
            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/pulls/generate", #"{"count": 250}"#)
            try await vcs.call(
                "POST", "\(vcs.sandboxURL)/_sandbox/faults",
                #"{"after": 1, "faults": [{"kind": "status", "status": 502, "count": 5}]}"#)
            let (failed, failure) = try await vcs.checkout()
            #expect(failed == 502, "\(failure)")
            #expect(failure["error"]?["message"]?.stringValue?.contains("HTTP 502") == true)
            #expect(try await vcs.storedState() == nil, "the bookmark moved although the sync failed")

            // Short bursts and broken bodies are retried inside one sync.
            try await vcs.call(
                "POST", "\(vcs.sandboxURL)/_sandbox/faults",
                #"{"after": 1, "faults": [{"kind": "status", "status": 503}, {"kind": "malformed"}, {"kind": "truncated"}, {"kind": "html"}]}"#
            )
            let (status, summary) = try await vcs.checkout()
            #expect(status == 200, "\(summary)")
            #expect(summary["records_fetched"]?.integerValue == 251)
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests") == 251)
            #expect(try await vcs.count("SELECT count(DISTINCT id)::bigint AS n FROM pull_requests") == 251)
            let (_, counts) = try await vcs.call("GET", "\(vcs.sandboxURL)/_sandbox/requests")
            #expect(counts["faulted"]?.integerValue == 9)
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test("rate limits are waited out (primary reset and secondary Retry-After), not hammered")
    func rateLimitsHonoured() async throws {
        let vcs = try await VCSFixture()
        do {
            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/pulls/generate", #"{"count": 350}"#)
            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/rate_limit", #"{"limit": 2, "window_seconds": 2}"#)
            let started = Date()
            let (status, summary) = try await vcs.checkout()
            #expect(status == 200, "\(summary)")
            #expect(summary["pages"]?.integerValue == 4)
            #expect(Date().timeIntervalSince(started) >= 1.5, "four pages at two per two seconds cannot be faster")
            let (_, counts) = try await vcs.call("GET", "\(vcs.sandboxURL)/_sandbox/requests")
            #expect((counts["rate_limited"]?.integerValue ?? 99) <= 1, "the client hammered: \(counts)")

            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/rate_limit", #"{"limit": null}"#)
            try await vcs.call(
                "PUT", "\(vcs.sandboxURL)/_sandbox/pulls/1",
                #"{"id": 1, "number": 1, "title": "new", "updated_at": "2030-01-01T00:00:00Z"}"#)
            try await vcs.call(
                "POST", "\(vcs.sandboxURL)/_sandbox/faults",
                #"{"faults": [{"kind": "secondary_rate_limit", "retry_after": 1}]}"#)
            let secondStart = Date()
            let (secondStatus, _) = try await vcs.checkout()
            #expect(secondStatus == 200)
            #expect(Date().timeIntervalSince(secondStart) >= 0.9)
            #expect(vcs.vcs.logTail().contains("rate limit"))
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test("target-postgres layout: flattened columns, child table, _sdc_* columns and types")
    func targetPostgresLayout() async throws {
        let vcs = try await VCSFixture()
        do {
            try await vcs.call(
                "PUT", "\(vcs.sandboxURL)/_sandbox/pulls/77",
                """
                {"id": 7077, "number": 77, "state": "open", "title": "Nested", "draft": true,
                 "user": {"login": "nia", "id": 42, "type": "User", "site_admin": false},
                 "labels": [{"id": 1, "name": "model", "color": "fff"}, {"id": 2, "name": "data", "color": "000"}],
                 "assignees": [], "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-02T10:00:00Z",
                 "head": {"ref": "feature", "sha": "abc123", "label": "nia:feature", "repo": {"id": 5}},
                 "base": {"ref": "main", "sha": "def456", "label": "o:main"}}
                """)
            let (status, summary) = try await vcs.checkout()
            #expect(status == 200, "\(summary)")
            let row = try #require(
                try await vcs.database.query(
                    "SELECT user__login, user__id, head__sha, base__ref, draft, _sdc_received_at IS NOT NULL AS r, _sdc_sequence, _sdc_batched_at IS NOT NULL AS b FROM pull_requests WHERE id = 7077"
                ).first)
            #expect(try row.decode("user__login", as: String.self) == "nia")
            #expect(try row.decode("user__id", as: Int64.self) == 42)
            #expect(try row.decode("head__sha", as: String.self) == "abc123")
            #expect(try row.decode("base__ref", as: String.self) == "main")
            #expect(try row.decode("draft", as: Bool.self) == true)
            #expect(try row.decode("r", as: Bool.self) && row.decode("b", as: Bool.self))
            let labels = try await vcs.database.query(
                "SELECT name, _sdc_level_0_id FROM pull_requests__labels WHERE _sdc_source_key_id = 7077 ORDER BY _sdc_level_0_id"
            )
            #expect(try labels.map { try $0.decode("name", as: String.self) } == ["model", "data"])
            #expect(try labels.map { try $0.decode("_sdc_level_0_id", as: Int64.self) } == [0, 1])
            let types = try await vcs.database.query(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'pull_requests'")
            var byName: [String: String] = [:]
            for row in types { byName[try row.decode("column_name")] = try row.decode("data_type") }
            #expect(byName["updated_at"] == "timestamp with time zone")
            #expect(byName["id"] == "bigint")
            #expect(byName["draft"] == "boolean")
            #expect(byName["_sdc_table_version"] == "bigint")
            #expect(byName["head__repo__id"] == nil, "fields outside the schema are not stored")
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test(
        "bad input: huge and emoji titles, a deleted user, missing objects, NUL; schema violations rejected and counted"
    )
    func badInput() async throws {
        let vcs = try await VCSFixture()
        do {
            let huge = String(repeating: "λ", count: 50_000)
            let pulls = [
                (
                    201,
                    "{\"id\": 201, \"number\": 201, \"title\": \"\(huge)\", \"updated_at\": \"2026-04-01T00:00:01Z\"}"
                ),
                (
                    202,
                    #"{"id": 202, "number": 202, "title": "Ship it 🚀 — ünïcödé", "updated_at": "2026-04-01T00:00:02Z"}"#
                ),
                (
                    203,
                    #"{"id": 203, "number": 203, "title": "ghost", "user": null, "updated_at": "2026-04-01T00:00:03Z"}"#
                ),
                (204, #"{"id": 204, "number": 204, "title": "no head", "updated_at": "2026-04-01T00:00:04Z"}"#),
                (205, #"{"id": 205, "number": 205, "title": "nul\u0000byte", "updated_at": "2026-04-01T00:00:05Z"}"#),
                (206, #"{"id": "abc", "number": 206, "title": "bad id", "updated_at": "2026-04-01T00:00:06Z"}"#),
                (207, #"{"id": 207, "number": 207, "merged_at": "yesterday", "updated_at": "2026-04-01T00:00:07Z"}"#),
                (208, #"{"id": 208, "number": 208, "user": "bob", "updated_at": "2026-04-01T00:00:08Z"}"#),
            ]
            for (number, body) in pulls {
                try await vcs.call("PUT", "\(vcs.sandboxURL)/_sandbox/pulls/\(number)", body)
            }
            let (status, summary) = try await vcs.checkout()
            #expect(status == 200, "\(summary)")
            // 205's title holds a NUL: rejected by name (it was stored with the NUL cut out before).
            #expect(summary["rejected"]?.integerValue == 4)
            let rejections = summary["rejections"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(rejections.contains { $0.contains("merged_at") && $0.contains("id=207") })
            #expect(rejections.contains { $0.contains("user") && $0.contains("id=208") })
            #expect(rejections.contains { $0.contains("title") && $0.contains("NUL") && $0.contains("id=205") })
            #expect(rejections.contains { $0.contains("field") || $0.contains("id") })
            func title(_ id: Int) async throws -> String? {
                try await vcs.database.query("SELECT title FROM pull_requests WHERE id = \(Int64(id))").first?
                    .decodeIfPresent("title")
            }
            #expect(try await title(201) == huge)
            #expect(try await title(202) == "Ship it 🚀 — ünïcödé")
            #expect(try await title(203) == "ghost")
            #expect(try await title(204) == "no head")
            #expect(
                try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests WHERE id IN (205, 206, 207, 208)")
                    == 0)
            #expect(vcs.vcs.logTail().contains("rejected record"))
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test(
        "an impossible date and a value Postgres refuses are per-record rejections; the rest of the page is stored and the bookmark moves"
    )
    func valuesPostgresRefuses() async throws {
        let vcs = try await VCSFixture()
        do {
            // A table that refuses one title (SQLSTATE 23514), as a database can refuse what the schema allows.
            let (first, _) = try await vcs.checkout()
            #expect(first == 200)
            try await vcs.database.query(
                "ALTER TABLE pull_requests ADD CONSTRAINT no_evil CHECK (title IS DISTINCT FROM 'evil')")
            let pulls = [
                (301, #"{"id": 301, "number": 301, "title": "fine", "updated_at": "2030-05-01T00:00:01Z"}"#),
                (
                    302,
                    #"{"id": 302, "number": 302, "merged_at": "2024-13-45T25:61:61Z", "updated_at": "2030-05-01T00:00:02Z"}"#
                ),
                (303, #"{"id": 303, "number": 303, "title": "evil", "updated_at": "2030-05-01T00:00:03Z"}"#),
                (304, #"{"id": 304, "number": 304, "title": "also fine", "updated_at": "2030-05-01T00:00:04Z"}"#),
            ]
            for (number, body) in pulls {
                try await vcs.call("PUT", "\(vcs.sandboxURL)/_sandbox/pulls/\(number)", body)
            }
            let (status, summary) = try await vcs.checkout()
            #expect(status == 200, "\(summary)")
            #expect(summary["rejected"]?.integerValue == 2, "\(summary)")
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests WHERE id IN (301, 304)") == 2)
            let state = try #require(try await vcs.storedState())
            #expect(state["bookmarks"]?[VCSFixture.repository]?["pull_requests"]?["since"]?.stringValue != nil)
            let (again, _) = try await vcs.checkout()
            #expect(again == 200, "the next sync is not wedged")
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test("a page fetched before a merge webhook but loaded after it does not overwrite the merge")
    func stalePageLosesToWebhook() async throws {
        let vcs = try await VCSFixture()
        do {
            let open =
                #"{"id": 500, "number": 500, "state": "open", "title": "race", "updated_at": "2030-06-01T00:00:00Z", "merged_at": null, "base": {"ref": "main"}}"#
            try await vcs.call("PUT", "\(vcs.sandboxURL)/_sandbox/pulls/500", open)
            try await vcs.call(
                "POST", "\(vcs.sandboxURL)/_sandbox/faults", #"{"faults": [{"kind": "slow", "ms": 3000}]}"#)
            async let sync = vcs.checkout()  // its page shows PR 500 open, then waits 3 s on the wire
            try await vcs.untilAPageIsDelayed()
            let merged = Array(
                #"{"action": "closed", "number": 500, "pull_request": {"id": 500, "number": 500, "state": "closed", "title": "race", "updated_at": "2030-06-01T00:05:00Z", "merged_at": "2030-06-01T00:05:00Z", "merged": true, "merge_commit_sha": "abc5000", "base": {"ref": "main"}}}"#
                    .utf8)
            let response = try await vcs.http.send(
                CurlRequest(
                    method: .post, url: "\(vcs.vcsURL)/webhook",
                    headers: [
                        .contentType: "application/json", .xGitHubEvent: "pull_request", .xGitHubDelivery: "race-1",
                        .xHubSignature256: WebhookSignature(secret: VCSFixture.secret).header(for: merged),
                    ], body: merged))
            #expect(response.status == 200, "\(response.text)")
            let (status, _) = try await sync
            #expect(status == 200)
            let row = try #require(
                try await vcs.database.query(
                    "SELECT state, merged_at IS NOT NULL AS merged FROM pull_requests WHERE id = 500"
                )
                .first)
            #expect(try row.decode("merged", as: Bool.self), "the merge seen by the webhook survives the stale page")
            #expect(try row.decode("state", as: String.self) == "closed")
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test("a pull request that changes while pages are read is caught by the next sync")
    func changeBetweenPages() async throws {
        let vcs = try await VCSFixture()
        do {
            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/pulls/generate", #"{"count": 250}"#)
            try await vcs.call(
                "POST", "\(vcs.sandboxURL)/_sandbox/faults", #"{"after": 1, "faults": [{"kind": "slow", "ms": 3000}]}"#)
            async let firstSync = vcs.checkout()
            try await vcs.untilAPageIsDelayed()
            // PR 10000 is on the last page; it moves to the first, already read.
            try await vcs.call(
                "PUT", "\(vcs.sandboxURL)/_sandbox/pulls/10000",
                #"{"id": 5010000, "number": 10000, "title": "edited mid-sync", "updated_at": "2031-01-01T00:00:00Z"}"#)
            let (status, _) = try await firstSync
            #expect(status == 200)
            let (_, second) = try await vcs.checkout()
            #expect(second["not_modified"]?.integerValue == 0)
            let title: String? = try await vcs.database.query("SELECT title FROM pull_requests WHERE id = 5010000")
                .first?.decodeIfPresent("title")
            #expect(title == "edited mid-sync")
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests") == 251)
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test("SYNC_INTERVAL syncs on its own, without /checkout or webhooks")
    func periodicSync() async throws {
        let vcs = try await VCSFixture(settings: ["SYNC_INTERVAL": "300ms"])
        do {
            _ = try await eventually(timeout: 20, "the periodic sync to store the repository's PR") {
                try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests") == 1 ? true : nil
            }
            try await vcs.call(
                "PUT", "\(vcs.sandboxURL)/_sandbox/pulls/90",
                #"{"id": 9090, "number": 90, "title": "later", "updated_at": "2031-01-01T00:00:00Z"}"#)
            let stored = try await eventually(timeout: 20, "the periodic sync to store the new PR") {
                let count = try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests")
                return count == 2 ? count : nil
            }
            #expect(stored == 2)
            #expect(try await vcs.storedState() != nil)
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }
}
