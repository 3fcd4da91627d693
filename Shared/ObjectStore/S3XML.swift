/// A reader for S3's response documents: the text of each leaf element with
/// its path from the root, in document order. S3's documents are small, flat
/// and well formed (no DTD, no mixed content), which is all this reads;
/// namespace prefixes are dropped, entities and CDATA decoded. Malformed input
/// yields the leaves read before the fault: callers check for what they need.
struct S3XML {
    /// An element without child elements.
    struct Leaf: Equatable {
        let path: [String]
        let text: String
    }

    /// The root element's name, if there is one.
    private(set) var root: String?
    private(set) var leaves: [Leaf] = []

    init(_ bytes: [UInt8]) {
        var stack: [String] = []
        var hasChildren: [Bool] = []
        var text: [UInt8] = []
        var index = 0
        func skip(past terminator: String) -> Int {
            Self.find(Array(terminator.utf8), in: bytes, from: index).map { $0 + terminator.utf8.count } ?? bytes.count
        }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "<") else {
                let end = bytes[index...].firstIndex(of: UInt8(ascii: "<")) ?? bytes.count
                text += Self.decodingEntities(bytes[index..<end])
                index = end
                continue
            }
            if Self.starts(bytes, at: index, with: "<![CDATA[") {
                let end = Self.find(Array("]]>".utf8), in: bytes, from: index) ?? bytes.count
                text += bytes[min(index + 9, end)..<end]
                index = min(end + 3, bytes.count)
            } else if Self.starts(bytes, at: index, with: "<!--") {
                index = skip(past: "-->")
            } else if Self.starts(bytes, at: index, with: "<?") {
                index = skip(past: "?>")
            } else if Self.starts(bytes, at: index, with: "<!") {
                index = skip(past: ">")
            } else if Self.starts(bytes, at: index, with: "</") {
                index = skip(past: ">")
                guard !stack.isEmpty else { break }
                if hasChildren.removeLast() == false {
                    leaves.append(Leaf(path: stack, text: String(decoding: text, as: UTF8.self)))
                }
                stack.removeLast()
                text = []
            } else {
                let (name, end, selfClosing) = Self.startTag(bytes, at: index)
                index = end
                if root == nil { root = name }
                if !hasChildren.isEmpty { hasChildren[hasChildren.count - 1] = true }
                if selfClosing {
                    leaves.append(Leaf(path: stack + [name], text: ""))
                } else {
                    stack.append(name)
                    hasChildren.append(false)
                }
                text = []
            }
        }
    }

    /// The text of the first leaf at `path`.
    func text(_ path: String...) -> String? { leaves.first { $0.path == path }?.text }

    /// The texts of every leaf at `path`, in document order.
    func texts(_ path: String...) -> [String] { leaves.filter { $0.path == path }.map(\.text) }

    /// The name of the start tag at `start` (prefix dropped), the index past it,
    /// and whether it closes itself. Quoted attribute values may hold `>`.
    private static func startTag(_ bytes: [UInt8], at start: Int) -> (String, Int, Bool) {
        var index = start + 1
        let nameStart = index
        while index < bytes.count, ![UInt8(ascii: ">"), UInt8(ascii: "/"), 32, 9, 10, 13].contains(bytes[index]) {
            index += 1
        }
        var name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
        if let colon = name.lastIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
        var quote: UInt8?
        while index < bytes.count {
            let byte = bytes[index]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                return (name, index + 1, index > start && bytes[index - 1] == UInt8(ascii: "/"))
            }
            index += 1
        }
        return (name, bytes.count, false)
    }

    /// `text` with XML's five named entities and character references decoded.
    static func decodingEntities(_ text: ArraySlice<UInt8>) -> [UInt8] {
        guard text.contains(UInt8(ascii: "&")) else { return Array(text) }
        var result: [UInt8] = []
        result.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            guard text[index] == UInt8(ascii: "&"),
                let semicolon = text[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")),
                let decoded = entity(String(decoding: text[(index + 1)..<semicolon], as: UTF8.self))
            else {
                result.append(text[index])
                index += 1
                continue
            }
            result += decoded
            index = semicolon + 1
        }
        return result
    }

    /// The UTF-8 bytes an entity's name (`amp`, `#34`, `#x263A`) stands for.
    private static func entity(_ name: String) -> [UInt8]? {
        switch name {
        case "amp": return Array("&".utf8)
        case "lt": return Array("<".utf8)
        case "gt": return Array(">".utf8)
        case "quot": return Array("\"".utf8)
        case "apos": return Array("'".utf8)
        default:
            guard name.hasPrefix("#") else { return nil }
            let hex = name.hasPrefix("#x") || name.hasPrefix("#X")
            guard let value = UInt32(name.dropFirst(hex ? 2 : 1), radix: hex ? 16 : 10),
                let scalar = Unicode.Scalar(value)
            else { return nil }
            return Array(String(Character(scalar)).utf8)
        }
    }

    private static func starts(_ bytes: [UInt8], at index: Int, with prefix: String) -> Bool {
        bytes[index...].starts(with: prefix.utf8)
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
