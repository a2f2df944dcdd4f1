import CLibPQ
import Foundation

/// Collects the NOTICEs and WARNINGs a server sends, so that libpq never prints them to stderr.
///
/// Confined to the thread that owns its connection: libpq calls the receiver synchronously from
/// inside the calls made on that connection.
final class NoticeBuffer {
    struct Notice {
        let severity: String
        let sqlState: String?
        let message: String

        var text: String { "\(severity): \(message)" }
    }

    /// A server that keeps sending notices to a caller that never reads them must not grow memory.
    static let capacity = 1000

    private(set) var notices: [Notice] = []

    func append(_ result: OpaquePointer) {
        let field = { (code: Int32) -> String? in
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let message =
            field(DiagnosticField.message)
            ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        let severity = field(DiagnosticField.severityNonLocalized) ?? field(DiagnosticField.severity) ?? "NOTICE"
        if notices.count >= Self.capacity { notices.removeFirst(notices.count - Self.capacity + 1) }
        notices.append(Notice(severity: severity, sqlState: field(DiagnosticField.sqlState), message: message))
    }

    func take() -> [Notice] {
        defer { notices.removeAll() }
        return notices
    }

    /// Installs `buffer` as the receiver of `handle`; the buffer must outlive the handle.
    static func install(_ buffer: NoticeBuffer, on handle: OpaquePointer) {
        let context = Unmanaged.passUnretained(buffer).toOpaque()
        _ = PQsetNoticeReceiver(
            handle,
            { context, result in
                guard let context, let result else { return }
                Unmanaged<NoticeBuffer>.fromOpaque(context).takeUnretainedValue().append(result)
            },
            context
        )
    }
}
