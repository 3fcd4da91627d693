import Foundation
import Testing

@testable import ObjectStore

extension ObjectStoreTests {
    /// Reading `ARTIFACTS_URL` and the S3 settings, and the encodings the
    /// client relies on; no server needed.
    @Suite("Object store settings, locations and encodings")
    struct Configuration {
        @Test("ARTIFACTS_URL: s3://bucket/prefix and file:///path")
        func artifactLocations() throws {
            #expect(
                try ArtifactLocation(parsing: "s3://models/conveyor/prod/")
                    == .s3(S3Location(bucket: "models", prefix: "conveyor/prod")))
            #expect(try ArtifactLocation(parsing: "s3://models") == .s3(S3Location(bucket: "models")))
            #expect(
                try ArtifactLocation(parsing: "file:///var/lib/conveyor/artifacts")
                    == .file(URL(fileURLWithPath: "/var/lib/conveyor/artifacts", isDirectory: true)))
            #expect(
                try ArtifactLocation(parsing: "/srv/artifacts")
                    == .file(URL(fileURLWithPath: "/srv/artifacts", isDirectory: true)))
            let location = try S3Location(parsing: "s3://models/conveyor/")
            #expect(location.key("wiki/3/manifest.json") == "conveyor/wiki/3/manifest.json")
            #expect(try S3Location(parsing: "s3://models").key("/wiki/3") == "wiki/3")
            #expect(location.description == "s3://models/conveyor")
        }

        @Test(
            "a bad ARTIFACTS_URL is refused naming the variable, and never echoes credentials",
            arguments: [
                ("s3://", "no bucket"), ("s3:///prefix", "no bucket"), ("s3://Models/x", "not a bucket name"),
                ("s3://ab", "not a bucket name"), ("s3://key:hunter2@bucket/x", "credentials"),
                ("s3://bucket/a//b", "segment"), ("s3://bucket/a/../b", "segment"), ("s3://bucket?x=1", "query"),
                ("http://bucket/x", "expected"), ("file://host/path", "three slashes"), ("relative/dir", "expected"),
            ])
        func badArtifactURLs(value: String, problem: String) throws {
            let error = try #require(throws: ObjectStoreConfigurationError.self) {
                try ArtifactLocation(parsing: value)
            }
            #expect(error.variable == "ARTIFACTS_URL")
            #expect(error.description.hasPrefix("ARTIFACTS_URL: "))
            #expect(error.problem.contains(problem), "\(error)")
            #expect(!error.description.contains("hunter2"))
        }

        @Test("ARTIFACTS_URL wins over ARTIFACTS_DIR, which still works; neither is an error naming both")
        func artifactEnvironment() throws {
            let both = ["ARTIFACTS_URL": "s3://models/x", "ARTIFACTS_DIR": "/srv/artifacts"]
            #expect(try ArtifactLocation(environment: both) == .s3(S3Location(bucket: "models", prefix: "x")))
            #expect(
                try ArtifactLocation(environment: ["ARTIFACTS_DIR": "/srv/a"])
                    == .file(URL(fileURLWithPath: "/srv/a", isDirectory: true)))
            let fallback = ArtifactLocation.file(URL(fileURLWithPath: "/var/lib/conveyor/artifacts", isDirectory: true))
            #expect(try ArtifactLocation(environment: [:], fallback: fallback) == fallback)
            let missing = try #require(throws: ObjectStoreConfigurationError.self) {
                try ArtifactLocation(environment: [:])
            }
            #expect(missing.description.contains("ARTIFACTS_URL") && missing.description.contains("ARTIFACTS_DIR"))
            let relative = try #require(throws: ObjectStoreConfigurationError.self) {
                try ArtifactLocation(environment: ["ARTIFACTS_DIR": "artifacts"])
            }
            #expect(relative.variable == "ARTIFACTS_DIR")
        }

        @Test("S3 settings from the environment: defaults, and errors naming the variable")
        func settingsFromEnvironment() throws {
            let base = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"]
            let aws = try S3Settings(environment: base)
            #expect(aws.region == "us-east-1" && aws.endpoint == "https://s3.us-east-1.amazonaws.com")
            let local = try S3Settings(
                environment: base.merging(["S3_ENDPOINT": "http://127.0.0.1:8333/", "S3_REGION": "eu-west-3"]) { $1 })
            #expect(local.endpoint == "http://127.0.0.1:8333" && local.region == "eu-west-3")
            #expect(local.signing.region == "eu-west-3" && local.signing.service == "s3")

            let cases: [([String: String], String)] = [
                (["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"], "AWS_SECRET_ACCESS_KEY"),
                (["AWS_SECRET_ACCESS_KEY": "x"], "AWS_ACCESS_KEY_ID"),
                (base.merging(["S3_ENDPOINT": "ftp://host"]) { $1 }, "S3_ENDPOINT"),
                (base.merging(["S3_ENDPOINT": "http://user:pw@host"]) { $1 }, "S3_ENDPOINT"),
                (base.merging(["S3_REGION": "US East"]) { $1 }, "S3_REGION"),
            ]
            for (environment, variable) in cases {
                let error = try #require(throws: ObjectStoreConfigurationError.self) {
                    try S3Settings(environment: environment)
                }
                #expect(error.variable == variable, "\(error)")
                #expect(!error.description.contains("pw@"))
            }
        }

        @Test("the secret never shows in a description, debug description, dump or the signing credentials")
        func secretRedacted() throws {
            let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
            let settings = try S3Settings(
                endpoint: "http://127.0.0.1:8333", accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret)
            var dumped = ""
            dump(settings, to: &dumped)
            var dumpedSigning = ""
            dump(settings.signing, to: &dumpedSigning)
            let texts = [
                String(describing: settings), String(reflecting: settings), "\(settings)", dumped, dumpedSigning,
                String(describing: settings.signing), String(reflecting: [settings]),
            ]
            for text in texts {
                #expect(!text.contains(secret), "\(text)")
                #expect(!text.contains("wJalr"), "\(text)")
            }
            #expect(String(describing: settings).contains("AKIDEXAMPLE"), "the key id is not a secret")
        }

        @Test("keys are percent-encoded as SigV4 wants: unreserved kept, UTF-8 bytes in upper-case hex")
        func sigV4Encoding() {
            #expect(SigV4Encoding.encode("a b+c/ü~_.-", keepingSlashes: true) == "a%20b%2Bc/%C3%BC~_.-")
            #expect(SigV4Encoding.encode("a/b") == "a%2Fb")
            #expect(SigV4Encoding.encode("%2F") == "%252F")
            #expect(
                SigV4Encoding.query([("uploads", ""), ("prefix", "a b/"), ("list-type", "2")])
                    == "list-type=2&prefix=a%20b%2F&uploads=")
        }

        @Test("S3's XML: leaves by path, entities, CDATA, namespaces and self-closing elements")
        func xml() {
            let document = S3XML(
                Array(
                    """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>\
                    <Contents><Key>a&amp;b&lt;c&gt; &#34;q&#34; &#x263A;</Key><ETag>&quot;e1&quot;</ETag></Contents>\
                    <Contents><Key><![CDATA[x<y>&z]]></Key><Owner/></Contents>\
                    <!-- comment <Key>no</Key> --><IsTruncated>true</IsTruncated>\
                    <s3:NextContinuationToken a="1>2">tok</s3:NextContinuationToken></ListBucketResult>
                    """.utf8))
            #expect(document.root == "ListBucketResult")
            #expect(document.texts("ListBucketResult", "Contents", "Key") == ["a&b<c> \"q\" ☺", "x<y>&z"])
            #expect(document.text("ListBucketResult", "Contents", "ETag") == "\"e1\"")
            #expect(document.text("ListBucketResult", "Contents", "Owner") == "")
            #expect(document.text("ListBucketResult", "IsTruncated") == "true")
            #expect(document.text("ListBucketResult", "NextContinuationToken") == "tok")
            #expect(S3XML(Array("<Error><Code>NoSuch".utf8)).text("Error", "Code") == nil)
            #expect(S3XML([]).root == nil)
        }

        @Test("a file is cut into parts of the part size, at most 10,000")
        func partRanges() {
            let file = URL(fileURLWithPath: "/tmp/x")
            let parts = S3Client.parts(of: .init(file: file, length: 12 << 20), partSize: 5 << 20)
            #expect(parts.map(\.offset) == [0, 5 << 20, 10 << 20])
            #expect(parts.map(\.length) == [5 << 20, 5 << 20, 2 << 20])
            let huge = S3Client.parts(of: .init(file: file, length: 100_000 << 20), partSize: 5 << 20)
            #expect(huge.count <= 10_000 && huge.reduce(0) { $0 + $1.length } == 100_000 << 20)
        }
    }
}
