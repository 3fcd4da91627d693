extension Duration {
    /// The duration in seconds, for SQL intervals, libcurl and log lines.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
