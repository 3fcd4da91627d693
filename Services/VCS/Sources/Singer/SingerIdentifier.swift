import Crypto
import Foundation

/// Table, column and index names as datamill's `singer-target-postgres`
/// makes them (`postgres.py` `canonicalize_identifier`, `sql_base.py`
/// `_canonicalize_column_identifier`, `add_index`), so SQL written against
/// its tables works unchanged against ours.
enum SingerIdentifier {
    /// Postgres's identifier limit, counted as datamill counts it (in characters).
    static let maxLength = 63
    /// Joins the parts of a nested path into one name.
    static let separator = "__"

    /// Lower case, and every character that is not a letter, digit, `_` or `$` becomes `_`.
    static func canonical(_ name: String) -> String {
        guard !name.isEmpty else { return "_" }
        var result = String.UnicodeScalarView()
        for scalar in name.lowercased().unicodeScalars {
            result.append(isWordCharacter(scalar) || scalar == "$" ? scalar : "_")
        }
        return String(result)
    }

    /// `canonical(raw)` cut so that `suffix` still fits in `maxLength`, then `suffix`.
    static func truncated(_ raw: String, suffix: String = "") -> String {
        let room = max(0, maxLength - suffix.unicodeScalars.count)
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: canonical(raw).unicodeScalars.prefix(room))
        return canonical(String(kept) + suffix)
    }

    /// The name of the upsert index of a new table: `tp_<table>_<columns>_idx`, or a SHA-1 when too long.
    static func indexName(table: String, columns: [String]) -> String {
        let name = "tp_\(table)_\(columns.joined(separator: "_"))_idx"
        guard name.unicodeScalars.count > maxLength else { return name }
        let digest = Insecure.SHA1.hash(data: Array(name.utf8))
        return "tp_" + digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Python's `\w` on a `str`: letters, digits and other numerals, and `_`.
    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }
}
