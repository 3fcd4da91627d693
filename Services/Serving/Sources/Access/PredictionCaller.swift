/// The token (by name) a prediction is made with, for the prediction log: set around a request
/// by the access check, read where the answer is logged, on whichever transport.
enum PredictionCaller {
    @TaskLocal static var tokenName: String?
}
