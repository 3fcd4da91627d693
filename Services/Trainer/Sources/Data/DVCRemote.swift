import Foundation

/// The repository's default DVC remote, from `.dvc/config` (`[core] remote = name` and
/// `['remote "name"'] url = …`). Local paths, `http(s)://` and `s3://` are fetched; the object
/// store's own settings sign `s3://` requests (a remote's `endpointurl` and credentials in the
/// repository are ignored: a PR cannot send Conveyor's credentials elsewhere).
struct DVCRemote: Sendable, Equatable {
    let name: String
    let url: String

    /// Why the remote cannot be used.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The default remote of the repository's `.dvc/config`.
    static func defaultRemote(in repository: URL) throws -> DVCRemote {
        let configDirectory = repository.appendingPathComponent(".dvc", isDirectory: true)
        guard let text = try? String(contentsOf: configDirectory.appendingPathComponent("config"), encoding: .utf8)
        else { throw Problem(description: ".dvc/config is missing: the repository names no DVC remote") }
        let sections = parse(text)
        guard let name = sections["core"]?["remote"], !name.isEmpty else {
            throw Problem(description: ".dvc/config has no default remote ([core] remote = …)")
        }
        guard let url = sections["remote \"\(name)\""]?["url"], !url.isEmpty else {
            throw Problem(description: ".dvc/config: the remote \"\(name)\" has no url")
        }
        if let scheme = URLComponents(string: url)?.scheme, scheme.count > 1 {
            guard ["s3", "http", "https"].contains(scheme.lowercased()) else {
                throw Problem(
                    description:
                        "the DVC remote \"\(name)\" is \(scheme)://, which Conveyor does not fetch (local paths, http, https and s3 are)"
                )
            }
            return DVCRemote(name: name, url: url)
        }
        // A local remote: relative paths are relative to the config file's directory, as DVC reads them.
        let path =
            url.hasPrefix("/")
            ? URL(fileURLWithPath: url) : configDirectory.appendingPathComponent(url)
        return DVCRemote(name: name, url: path.standardizedFileURL.absoluteString)
    }

    /// The URL of the object `pointer` names.
    func objectURL(_ pointer: DVCPointer) -> String {
        url.hasSuffix("/") ? url + pointer.objectPath : url + "/" + pointer.objectPath
    }

    /// Sections of an INI file by name (quotes around a section's name dropped), each its keys and values.
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current = ""
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current, default: [:]][key] = value
        }
        return sections
    }
}
