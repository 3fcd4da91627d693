import Foundation

/// Parses RFC 8288 `Link` headers as GitHub sends them for pagination.
enum LinkHeader {
    /// The URL with `rel="<relation>"`, if any.
    static func url(in header: String?, relation: String) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let relations = pieces.dropFirst().filter { $0.hasPrefix("rel=") }
                .flatMap {
                    $0.dropFirst(4).trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: " ")
                }
            if relations.contains(Substring(relation)) { return String(target.dropFirst().dropLast()) }
        }
        return nil
    }
}
