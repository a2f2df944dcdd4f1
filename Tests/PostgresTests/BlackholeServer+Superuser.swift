import TestSupport

extension BlackholeServer {
    /// The conninfo these tests give libpq: the test clusters' superuser, no TLS or GSS attempt,
    /// so each connect is one silent exchange.
    var superuserConninfo: String {
        "host=127.0.0.1 port=\(port) user=postgres dbname=postgres sslmode=disable gssencmode=disable"
    }
}
