extension Duration {
    /// The duration in seconds, for logs and metrics.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
