extension Duration {
    /// The duration in seconds, for reports.
    var soakSeconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
