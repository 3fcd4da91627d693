import Subprocess

extension EnvironmentReader {
    /// `SANDBOX` (`auto`, `bubblewrap`, `none`), probed now: a wrong value, or
    /// `bubblewrap` where it cannot work, stops the service at start.
    public func sandbox() throws -> Sandbox {
        do {
            return try Sandbox.detect(setting: string("SANDBOX"))
        } catch let unavailable as SandboxUnavailable {
            throw ConfigurationError(variable: "SANDBOX", problem: unavailable.reason)
        }
    }
}
