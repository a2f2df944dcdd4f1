/// A lexical guard for `check.KIND` expressions, which `DeclaredCheck` splices into SQL as
/// `(expression)`: it refuses whatever could end that parenthesis or the statement early.
/// Whether the expression is valid SQL over the row's columns is for the database to say.
enum CheckExpression {
    static func validate(_ text: String) throws(SyntaxError) {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains(where: { $0 != " " && $0 != "\t" }) else {
            throw SyntaxError("the check expression is empty; write a SQL condition over the row's columns")
        }
        var depth = 0
        var index = 0
        func at(_ offset: Int) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "'":
                // E'…' strings take backslash escapes; standard strings only double their quotes.
                let escapes =
                    index > 0 && (scalars[index - 1] == "E" || scalars[index - 1] == "e")
                    && (index < 2 || !IdentifierScanner.isPlainContinuation(scalars[index - 2]))
                index += 1
                while true {
                    guard let c = at(0) else { throw SyntaxError("a string in the check expression has no closing quote") }
                    if escapes && c == "\\" {
                        index += 2
                        continue
                    }
                    index += 1
                    if c == "'" {
                        if at(0) == "'" {
                            index += 1
                            continue
                        }
                        break
                    }
                }
                continue
            case "\"":
                index += 1
                while true {
                    guard let c = at(0) else { throw SyntaxError("a quoted name in the check expression has no closing quote") }
                    index += 1
                    if c == "\"" {
                        if at(0) == "\"" {
                            index += 1
                            continue
                        }
                        break
                    }
                }
                continue
            case "(":
                depth += 1
            case ")":
                depth -= 1
                guard depth >= 0 else { throw SyntaxError("the check expression closes a parenthesis it did not open") }
            case ";":
                throw SyntaxError("a check is one expression; ';' is not allowed outside a string")
            case "$":
                throw SyntaxError("'$' (dollar quotes, parameters) is not allowed in a check expression outside a string")
            case "-" where at(1) == "-", "/" where at(1) == "*":
                throw SyntaxError("comments are not allowed in a check expression")
            case "\u{0}":
                throw SyntaxError("a check expression cannot contain a NUL character")
            default:
                break
            }
            index += 1
        }
        guard depth == 0 else { throw SyntaxError("the check expression leaves \(depth) parenthesis(es) open") }
    }
}
