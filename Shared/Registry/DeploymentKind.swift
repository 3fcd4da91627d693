/// What a row of `deployments` did, as stored in `deployments.kind`.
public enum DeploymentKind: String, RegistryValue {
    /// A version went live: trained by a run, or chosen by an admin.
    case deploy
    /// An earlier version was restored (by an admin or a rollback rule).
    case rollback
}
