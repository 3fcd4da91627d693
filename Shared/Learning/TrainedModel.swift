import Foundation

/// What training produced: the artifact as the manifest and the data made it (its
/// `version` empty and `trainedAt` the moment training ended, until the pipeline names
/// the version), and how many rows it trained and was tested on.
public struct TrainedModel: Sendable {
    public var artifact: ModelArtifact
    public var trainRows: Int
    public var testRows: Int

    public init(artifact: ModelArtifact, trainRows: Int, testRows: Int) {
        self.artifact = artifact
        self.trainRows = trainRows
        self.testRows = testRows
    }
}
