/// Why a piece of declaration text (an identifier, a rule, a route) could not be read.
///
/// It carries no position: ``TableDeclaration`` adds the line and the key it came from.
public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
