import Foundation

extension Manifest {
    /// One data file of `data:`: a path in the repository (`data/train.csv`, or `{path: …}`), or bytes
    /// kept outside it, pinned by hash (`{url: https://… | s3://bucket/key | file:///…, sha256: …}`).
    /// A path that is absent but has a `<path>.dvc` file (or a `dvc.lock` output) is fetched from
    /// the repository's DVC remote.
    public struct DataFile: Codable, Sendable, Equatable {
        public var path: String?
        public var url: String?
        /// The SHA-256 of the file's bytes, lowercase hex (required with `url`).
        public var sha256: String?

        /// The URL schemes `url` may have.
        public static let schemes = ["https", "http", "s3", "file"]

        public init(path: String) { self.path = path }

        public init(url: String, sha256: String) {
            self.url = url
            self.sha256 = sha256
        }

        enum CodingKeys: String, CodingKey { case path, url, sha256 }

        public init(from decoder: any Decoder) throws {
            if let single = try? decoder.singleValueContainer(), let path = try? single.decode(String.self) {
                self.path = path
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decodeIfPresent(String.self, forKey: .path)
            url = try container.decodeIfPresent(String.self, forKey: .url)
            sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
        }

        public func encode(to encoder: any Encoder) throws {
            if let path, url == nil {
                var single = encoder.singleValueContainer()
                try single.encode(path)
                return
            }
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(path, forKey: .path)
            try container.encodeIfPresent(url, forKey: .url)
            try container.encodeIfPresent(sha256, forKey: .sha256)
        }

        /// How messages name it: its path, or its URL.
        public var name: String { path ?? url ?? "" }

        /// A path or a URL, not both; a URL with a scheme Conveyor fetches and a SHA-256 to check it against.
        func check(key: String) throws {
            switch (path, url) {
            case (nil, nil): throw Problem(key: key, problem: "give a path in the repository, or a url and its sha256")
            case (.some, .some): throw Problem(key: key, problem: "give either path or url, not both")
            case (.some(let path), nil):
                if path.isEmpty || path.hasPrefix("/") || path.split(separator: "/").contains("..") {
                    throw Problem(
                        key: key, problem: "must be a path inside the repository: \"\(path)\" is outside the repository"
                    )
                }
                if sha256 != nil { throw Problem(key: "\(key).sha256", problem: "goes with url (a path is in git)") }
            case (nil, .some(let url)):
                guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                    Self.schemes.contains(scheme)
                else {
                    throw Problem(
                        key: "\(key).url", problem: "must be an https, http, s3 or file URL, got \"\(url)\"")
                }
                if scheme == "s3", (components.host ?? "").isEmpty || components.path.count < 2 {
                    throw Problem(key: "\(key).url", problem: "must be s3://bucket/key, got \"\(url)\"")
                }
                if scheme != "s3", components.user != nil || components.password != nil {
                    throw Problem(
                        key: "\(key).url", problem: "must not carry credentials (s3:// URLs use the object store's)")
                }
                guard let sha256, sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit }) else {
                    throw Problem(
                        key: "\(key).sha256", problem: "is required with url: the file's SHA-256, 64 hex digits")
                }
            }
        }
    }
}

extension Manifest.DataSource {
    /// The data files given, by their key in conveyor.yaml (`data.train`, `data.test`, `data.path`).
    public var files: [(key: String, file: Manifest.DataFile)] {
        [("data.train", train), ("data.test", test), ("data.path", path)].compactMap { key, file in
            file.map { (key, $0) }
        }
    }
}
