import Postgres
import XCTest

final class ConnInfoTests: XCTestCase {
    func testMasksKeyValuePasswords() {
        let cases: [(String, String)] = [
            ("host=db password=secret user=me", "host=db password=*** user=me"),
            ("password='it''s a secret' host=x", "password=*** host=x"),
            ("password = 'secret with spaces' dbname=shop", "password = *** dbname=shop"),
            (#"password='secret \'quoted\' \\ back' host=x"#, "password=*** host=x"),
            (#"password=secret\ escaped host=x"#, "password=*** host=x"),
            ("PASSWORD=secret", "PASSWORD=***"),
            ("sslpassword=secret host=x", "sslpassword=*** host=x"),
            ("host=x\tpassword=secret\nuser=y", "host=x\tpassword=***\nuser=y"),
            ("password='unterminated secret", "password=***"),
            ("host=x password secret", "host=x password ***"),
        ]
        for (input, expected) in cases {
            let output = ConnInfo.redacted(input)
            XCTAssertEqual(output, expected, "input: \(input)")
            XCTAssertFalse(output.contains("secret"), "leaked: \(output)")
        }
    }

    func testLeavesOtherWordsContainingPasswordAlone() {
        let input = "user=password_admin dbname=passwords application_name=password host=/tmp"
        XCTAssertEqual(ConnInfo.redacted(input), input)
        XCTAssertEqual(ConnInfo.redacted("host=x password"), "host=x password")
        XCTAssertEqual(ConnInfo.redacted(""), "")
    }

    func testMasksURIPasswords() {
        let cases: [(String, String)] = [
            ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
            ("postgres://user:secret@host:5432/db", "postgres://user:***@host:5432/db"),
            (
                "postgresql://u:p%40secret@h1:5432,h2:5433/db?sslmode=require&password=secret&application_name=x",
                "postgresql://u:***@h1:5432,h2:5433/db?sslmode=require&password=***&application_name=x"
            ),
            ("postgresql://host/db?password=secret", "postgresql://host/db?password=***"),
            ("postgresql:///db?host=/tmp&pass%77ord=secret", "postgresql:///db?host=/tmp&pass%77ord=***"),
            ("  POSTGRESQL://user:secret@host/db", "  POSTGRESQL://user:***@host/db"),
        ]
        for (input, expected) in cases {
            let output = ConnInfo.redacted(input)
            XCTAssertEqual(output, expected, "input: \(input)")
            XCTAssertFalse(output.contains("secret"), "leaked: \(output)")
        }
    }

    func testLeavesURIsWithoutPasswordAlone() {
        for input in [
            "postgresql://user@host/db", "postgresql://host:5432/db", "postgresql:///db?application_name=password",
        ] {
            XCTAssertEqual(ConnInfo.redacted(input), input)
        }
    }

    func testMasksConnInfoNestedInDbname() {
        let output = ConnInfo.redacted("dbname='postgresql://u:secret@h/db' user=x")
        XCTAssertEqual(output, "dbname='postgresql://u:***@h/db' user=x")
        let nested = ConnInfo.redacted(#"dbname='host=h password=\'a secret\'' user=x"#)
        XCTAssertFalse(nested.contains("secret"), nested)
        XCTAssertTrue(nested.hasSuffix(" user=x"), nested)
        XCTAssertEqual(ConnInfo.redacted("dbname=shop user=x"), "dbname=shop user=x")
    }

    func testValidateAcceptsWhatLibpqAccepts() throws {
        for conninfo in [
            "host=/tmp port=5432 dbname=shop", "postgresql://u:secret@h:5432/db?sslmode=require", "shop", "",
            "password='it\\'s' host=x",
        ] {
            XCTAssertNoThrow(try ConnInfo.validate(conninfo), conninfo)
        }
    }

    func testValidateRejectsMalformedConninfoWithoutLeakingSecrets() {
        let cases: [(String, String)] = [
            ("host=x pasword=secret", "pasword"),
            ("host='unterminated password=secret", "unterminated"),
            ("postgresql://user:p%zzsecret@host/db", "percent-encoded"),
            ("postgresql://user:secret@host/db?nonsense=1", "nonsense"),
        ]
        for (conninfo, expected) in cases {
            XCTAssertThrowsError(try ConnInfo.validate(conninfo, label: "site web conninfo"), conninfo) {
                guard let error = $0 as? PostgresError else { return XCTFail("\($0)") }
                XCTAssertEqual(error.category, .invalidInput)
                XCTAssertFalse(error.isTransient)
                XCTAssertEqual(error.statement, "site web conninfo")
                XCTAssertTrue(error.message.contains(expected), error.message)
                XCTAssertFalse(error.description.contains("secret"), error.description)
            }
        }
    }
}
