#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``MetricsSnapshot`` in the Prometheus text exposition format (version 0.0.4), as read by
/// node_exporter's textfile collector.
///
/// Rendering is a pure function of the snapshot; families, samples and labels are sorted, so
/// equal snapshots give byte-identical files.
public struct MetricsText: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    public init(_ snapshot: MetricsSnapshot) {
        text = Self.render(snapshot)
    }

    public var description: String { text }

    public static func render(_ snapshot: MetricsSnapshot) -> String {
        var output = ""
        for family in snapshot.families.values.sorted(by: { $0.name < $1.name }) {
            let name = metricName(family.name)
            output += "# HELP \(name) \(escapeHelp(family.help))\n"
            output += "# TYPE \(name) \(family.kind.rawValue)\n"
            let lines = family.samples.map { sample in
                (labels: renderLabels(sample.labels), value: renderValue(sample.value))
            }
            for line in lines.sorted(by: { $0.labels < $1.labels }) {
                output += "\(name)\(line.labels) \(line.value)\n"
            }
        }
        return output
    }

    /// Writes the text to a temporary file beside `path` and renames it over `path`, so a
    /// reader sees the old file or the new one, never a half-written one.
    public func writeAtomically(path: String) throws(MetricsWriteError) {
        let temporary = path + ".tmp.\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw MetricsWriteError(path: temporary, operation: "open", errno: errno) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                let failure = errno
                close(descriptor)
                unlink(temporary)
                throw MetricsWriteError(path: temporary, operation: "write", errno: failure)
            }
            offset += written
        }
        guard close(descriptor) == 0 else {
            let failure = errno
            unlink(temporary)
            throw MetricsWriteError(path: temporary, operation: "close", errno: failure)
        }
        guard rename(temporary, path) == 0 else {
            let failure = errno
            unlink(temporary)
            throw MetricsWriteError(path: path, operation: "rename", errno: failure)
        }
    }

    /// Names come from code; anything outside `[a-zA-Z0-9_:]` still must not break the format.
    static func metricName(_ name: String) -> String {
        var safe = ""
        for (offset, scalar) in name.unicodeScalars.enumerated() {
            switch scalar {
            case "a"..."z", "A"..."Z", "_", ":": safe.unicodeScalars.append(scalar)
            case "0"..."9" where offset > 0: safe.unicodeScalars.append(scalar)
            default: safe += "_"
            }
        }
        return safe.isEmpty ? "_" : safe
    }

    static func labelName(_ name: String) -> String {
        metricName(name).replacingColons()
    }

    static func renderLabels(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.map { (name: labelName($0.key), value: $0.value) }.sorted { $0.name < $1.name }
        return "{" + pairs.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
    }

    static func renderValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            return String(Int64(value))
        }
        return value.description
    }

    static func escapeHelp(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n", "\r\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func escapeLabelValue(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n", "\r\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

extension String {
    /// Label names, unlike metric names, may not contain `:`.
    fileprivate func replacingColons() -> String {
        String(map { $0 == ":" ? "_" : $0 })
    }
}
