import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Reads a JUnit XML report (pytest's `--junitxml`, and most test runners'): every `testcase`
/// with a `failure`, `error` or `skipped` child counted as such, the rest as passed; each
/// failure named `classname::name` (pytest's dotted module path turned back into its file's
/// `tests/test_x.py::test_y` when it can) with its `message`.
final class JUnitReport: NSObject, XMLParserDelegate {
    private var report = RepositoryTestReport(
        passed: 0, failed: 0, errors: 0, skipped: 0, seconds: 0, failures: [], hasReport: true, exitStatus: nil)
    private var current: (name: String, outcome: String?, message: String)?
    private var suiteSeconds: Double?
    private var caseSeconds = 0.0

    /// The report in `data`, or nil when it is not JUnit XML.
    static func parse(_ data: Data) -> RepositoryTestReport? {
        let reader = JUnitReport()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        guard parser.parse() else { return nil }
        reader.report.seconds = reader.suiteSeconds ?? reader.caseSeconds
        return reader.report
    }

    func parser(
        _ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        switch element {
        case "testsuite":
            if let time = attributes["time"].flatMap(Double.init) { suiteSeconds = (suiteSeconds ?? 0) + time }
        case "testcase":
            caseSeconds += attributes["time"].flatMap(Double.init) ?? 0
            current = (Self.name(classname: attributes["classname"], name: attributes["name"] ?? "?"), nil, "")
        case "failure", "error", "skipped":
            guard current != nil, current?.outcome == nil || element != "skipped" else { return }
            current?.outcome = element
            current?.message = attributes["message"] ?? ""
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
        guard element == "testcase", let testcase = current else { return }
        current = nil
        switch testcase.outcome {
        case "failure", "error":
            if testcase.outcome == "failure" { report.failed += 1 } else { report.errors += 1 }
            if report.failures.count < RepositoryTestReport.failureLimit {
                let message = testcase.message.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                report.failures.append(.init(name: testcase.name, message: String(message.prefix(300))))
            }
        case "skipped": report.skipped += 1
        default: report.passed += 1
        }
    }

    /// `tests.test_schema` + `test_no_nulls` → `tests/test_schema.py::test_no_nulls` (pytest's own spelling).
    private static func name(classname: String?, name: String) -> String {
        guard let classname, !classname.isEmpty else { return name }
        let parts = classname.split(separator: ".")
        // The module is the last part named like pytest's test files (test_*.py, *_test.py); classes follow it.
        if let index = parts.lastIndex(where: { $0.hasPrefix("test_") || $0.hasSuffix("_test") }) {
            let file = parts[...index].joined(separator: "/") + ".py"
            let rest = parts[(index + 1)...]
            return ([file] + rest.map(String.init) + [name]).joined(separator: "::")
        }
        return "\(classname)::\(name)"
    }
}
