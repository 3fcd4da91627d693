import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Logging
import ServiceKit

/// A local stand-in for GitHub's REST API (dev and tests only).
public enum SandboxApp {
    /// Builds the router: `GET /repos/{owner}/{repo}/pulls` with `page`,
    /// `per_page`, `sort=created|updated`, `direction`, `Link` pagination,
    /// ETags and rate-limit headers; commit statuses and issue comments
    /// (`SandboxWritesController`); plus the `/_sandbox/…` control routes.
    public static func makeRouter(
        configuration: SandboxConfiguration, control: SandboxControl = SandboxControl(),
        extra: SandboxPulls = SandboxPulls(), writes: SandboxWrites = SandboxWrites()
    ) -> Router<AppRequestContext> {
        let pulls = GitPullRequests(
            repositoryPath: configuration.repositoryPath, baseBranch: configuration.baseBranch,
            fullName: configuration.fullName, idBase: configuration.idBase)
        return ServiceRouter.build(
            title: "Conveyor GitHub sandbox", readiness: { [] }, maxBodyBytes: 16 << 20,
            controllers: [
                SandboxPullsController(pulls: pulls, fullName: configuration.fullName, control: control, extra: extra),
                SandboxControlController(control: control, extra: extra, repository: configuration.fullName),
                SandboxWritesController(fullName: configuration.fullName, writes: writes),
            ])
    }
}
