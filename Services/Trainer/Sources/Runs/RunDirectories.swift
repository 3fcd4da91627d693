import Foundation

/// The per-run checkouts under `WORK_DIR` (`run-<id>` and, for a retry after a
/// lost lease, `run-<id>-a<attempt>`), and the removal of those no run uses:
/// a trainer killed mid-run leaves its checkout behind.
enum RunDirectories {
    /// The run id a directory name belongs to, if it is a run directory.
    static func runID(of name: String) -> Int64? {
        guard name.hasPrefix("run-") else { return nil }
        let rest = name.dropFirst(4)
        return Int64(rest.split(separator: "-", maxSplits: 1).first ?? "")
    }

    /// The run a version was trained by (`v12-pr3-…`, `preview-12-pr3-…`), if its name says.
    static func runID(ofVersion version: String) -> Int64? {
        let rest =
            version.hasPrefix("preview-") ? version.dropFirst(8) : version.hasPrefix("v") ? version.dropFirst() : ""
        return Int64(rest.split(separator: "-", maxSplits: 1).first ?? "")
    }

    /// Removes every run directory under `workDirectory` whose run is not in
    /// `active`; returns the names removed.
    @discardableResult
    static func removeStale(in workDirectory: URL, active: Set<Int64>) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: workDirectory.path)) ?? []
        var removed: [String] = []
        for name in names.sorted() {
            guard let id = runID(of: name), !active.contains(id) else { continue }
            if (try? FileManager.default.removeItem(at: workDirectory.appendingPathComponent(name))) != nil {
                removed.append(name)
            }
        }
        return removed
    }

    /// Removes the directories earlier attempts of `run` left (after a takeover).
    static func removeEarlierAttempts(of run: Int64, before attempt: Int, in workDirectory: URL) {
        for earlier in 1..<max(1, attempt) {
            let name = earlier == 1 ? "run-\(run)" : "run-\(run)-a\(earlier)"
            try? FileManager.default.removeItem(at: workDirectory.appendingPathComponent(name))
        }
    }
}
