/// Reads and writes the text form of one-dimensional PostgreSQL arrays (`{a,"b c",NULL}`),
/// which is how state arrays travel as `$n` parameters and come back in results.
enum PostgresArray {
    struct ParseError: Error, CustomStringConvertible {
        let text: String
        var description: String { "not a one-dimensional array literal: \(text.prefix(80))" }
    }

    static func parse(_ text: String) throws(ParseError) -> [String?] {
        let scalars = Array(text.unicodeScalars)
        guard scalars.first == "{", scalars.last == "}" else { throw ParseError(text: text) }
        var elements: [String?] = []
        var index = 1
        let end = scalars.count - 1
        if index == end { return [] }
        while index <= end {
            var element = ""
            var quoted = false
            if scalars[index] == "\"" {
                quoted = true
                index += 1
                while index < end, scalars[index] != "\"" {
                    if scalars[index] == "\\" { index += 1 }
                    guard index < end else { throw ParseError(text: text) }
                    element.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard index < end else { throw ParseError(text: text) }
                index += 1
            } else {
                while index < end, scalars[index] != "," {
                    if scalars[index] == "{" || scalars[index] == "\"" { throw ParseError(text: text) }
                    element.unicodeScalars.append(scalars[index])
                    index += 1
                }
            }
            elements.append(!quoted && element == "NULL" ? nil : element)
            guard index == end || scalars[index] == "," else { throw ParseError(text: text) }
            index += 1
        }
        return elements
    }

    static func parseIntegers(_ text: String) throws(ParseError) -> [Int64] {
        var numbers: [Int64] = []
        for element in try parse(text) {
            guard let element, let number = Int64(element) else { throw ParseError(text: text) }
            numbers.append(number)
        }
        return numbers
    }

    static func parseStrings(_ text: String) throws(ParseError) -> [String] {
        var strings: [String] = []
        for element in try parse(text) {
            guard let element else { throw ParseError(text: text) }
            strings.append(element)
        }
        return strings
    }

    static func literal(_ strings: [String?]) -> String {
        "{" + strings.map { element -> String in
            guard let element else { return "NULL" }
            var quoted = "\""
            for scalar in element.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { quoted += "\\" }
                quoted.unicodeScalars.append(scalar)
            }
            return quoted + "\""
        }.joined(separator: ",") + "}"
    }

    static func literal(_ numbers: [Int64]) -> String {
        "{" + numbers.map(String.init).joined(separator: ",") + "}"
    }
}
