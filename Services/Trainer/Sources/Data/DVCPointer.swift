import Foundation
import Yams

/// What DVC recorded about a data file that is not in git: the md5 and size of its bytes, from
/// the `<path>.dvc` file `dvc add` wrote or from an output of a `dvc.lock` stage. Read without
/// the `dvc` program; directory outputs (`….dir`) are not supported.
struct DVCPointer: Sendable, Equatable {
    let md5: String
    let size: Int64?
    /// Written by DVC 2 (no `hash: md5`): its objects are at `xx/yyyy` on the remote, not `files/md5/xx/yyyy`.
    let legacyLayout: Bool
    /// The file that recorded it, for messages (`data/train.csv.dvc`, `dvc.lock`).
    let recordedIn: String

    /// Why a pointer could not be read.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The pointer for `path` (relative to the repository): its `.dvc` file, else a `dvc.lock`
    /// output; nil when DVC tracks no such path.
    static func find(_ path: String, in repository: URL) throws -> DVCPointer? {
        let dvcFile = repository.appendingPathComponent(path + ".dvc")
        if let text = try? String(contentsOf: dvcFile, encoding: .utf8) {
            let name = (path as NSString).lastPathComponent
            return try pointer(in: text, recordedIn: path + ".dvc", matching: { $0 == name })
        }
        let lock = repository.appendingPathComponent("dvc.lock")
        guard let text = try? String(contentsOf: lock, encoding: .utf8) else { return nil }
        guard let root = try? Yams.load(yaml: text) as? [String: Any], let stages = root["stages"] as? [String: Any]
        else { throw Problem(description: "dvc.lock is not a DVC lock file (no stages)") }
        for name in stages.keys.sorted() {
            guard let stage = stages[name] as? [String: Any], let outs = stage["outs"] as? [[String: Any]] else {
                continue
            }
            if let found = try pointer(outs: outs, recordedIn: "dvc.lock", matching: { normalized($0) == path }) {
                return found
            }
        }
        return nil
    }

    private static func pointer(in text: String, recordedIn: String, matching: (String) -> Bool) throws
        -> DVCPointer
    {
        guard let root = try? Yams.load(yaml: text) as? [String: Any], let outs = root["outs"] as? [[String: Any]]
        else { throw Problem(description: "\(recordedIn) is not a DVC file (no outs)") }
        guard let found = try pointer(outs: outs, recordedIn: recordedIn, matching: matching) else {
            throw Problem(description: "\(recordedIn) has no output for its data file")
        }
        return found
    }

    private static func pointer(outs: [[String: Any]], recordedIn: String, matching: (String) -> Bool) throws
        -> DVCPointer?
    {
        for out in outs {
            guard let path = out["path"] as? String, matching(path) else { continue }
            guard let md5 = out["md5"] as? String else {
                throw Problem(description: "\(recordedIn): the output \(path) has no md5 (DVC records md5 hashes)")
            }
            if md5.hasSuffix(".dir") {
                throw Problem(description: "\(recordedIn): \(path) is a directory; Conveyor reads single files")
            }
            guard md5.count == 32, md5.allSatisfy(\.isHexDigit) else {
                throw Problem(description: "\(recordedIn): the md5 of \(path) is not 32 hex digits")
            }
            let size = (out["size"] as? Int).map(Int64.init)
            return DVCPointer(
                md5: md5.lowercased(), size: size, legacyLayout: (out["hash"] as? String) != "md5",
                recordedIn: recordedIn)
        }
        return nil
    }

    private static func normalized(_ path: String) -> String {
        path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    }

    /// The object's path under the remote's URL.
    var objectPath: String {
        let (head, tail) = (md5.prefix(2), md5.dropFirst(2))
        return legacyLayout ? "\(head)/\(tail)" : "files/md5/\(head)/\(tail)"
    }
}
