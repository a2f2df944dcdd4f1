import XCTest

/// Golden `--help` texts: a change to them must be deliberate, and shows up here.
final class CLIHelpTests: XCTestCase {
    func assertHelp(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLIRunner.run(arguments)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr, "", file: file, line: line)
        XCTAssertEqual(result.stdout, expected, file: file, line: line)
    }

    func testOverview() throws {
        try assertHelp(["--help"], Self.overview)
        try assertHelp(["-h"], Self.overview)
    }

    func testMigrate() throws {
        try assertHelp(["migrate", "--help"], Self.migrate)
        // Help wins over other mistakes on the line.
        try assertHelp(["migrate", "--bogus", "-h"], Self.migrate)
    }

    func testConflictsResolve() throws {
        try assertHelp(["conflicts", "resolve", "--help"], Self.conflictsResolve)
    }

    /// Every command's help answers what it does, its options, exit codes, the default
    /// configuration path and an example.
    func testEveryCommandHasCompleteHelp() throws {
        for command in [
            "migrate", "run", "reload", "status", "verify", "check", "explain", "conflicts", "conflicts resolve", "quarantine",
            "quarantine retry",
            "quarantine discard",
        ] {
            let words = command.split(separator: " ").map(String.init)
            let result = try CLIRunner.run(words + ["--help"])
            XCTAssertEqual(result.status, 0, command)
            let help = result.stdout
            XCTAssertTrue(help.hasPrefix("Usage: omnisync \(command) [-c FILE]"), help)
            for part in ["\nOptions:\n", "-c, --config FILE", "/etc/omnisync/omnisync.conf", "\nExit codes:\n", "\nExample:\n  omnisync \(command)"] {
                XCTAssertTrue(help.contains(part), "\(command) --help lacks \(part.debugDescription)")
            }
            XCTAssertTrue(Self.overview.contains("\n  \(command) "), "\(command) missing from the overview")
        }
    }

    static let overview = """
        omnisync 0.1.0: keeps the PostgreSQL databases of stores and the web shop in sync.

        Usage: omnisync COMMAND [OPTIONS]

        Commands:
          migrate              install or upgrade the omnisync schema in every site (or one)
          run                  run the sync daemon in the foreground, logging to stderr
          reload               check the configuration, make the running daemon reload it and wait
          status               show each site's reachability, backlog and open conflicts
          verify               check that every site holds the same reconciled state
          check                check declared tables at every site against their declarations
          explain              show how a row's value came to be: each site's part, counts and deletes
          conflicts            list conflicts the daemon could not resolve alone
          conflicts resolve    mark a conflict resolved
          quarantine           list rows held because a change could not be applied
          quarantine retry     ship a quarantined row again after fixing the cause
          quarantine discard   stop holding a quarantined row

        Options:
          -h, --help           show this help; 'omnisync COMMAND --help' explains one command
              --version        print the version

        Every command reads /etc/omnisync/omnisync.conf unless -c FILE names another.

        Exit codes:
          0   success
          1   verify found differences, or a runtime failure
          64  bad usage
          69  a site could not be reached
          78  configuration error

        Example:
          omnisync migrate -c /etc/omnisync/omnisync.conf
          omnisync run -c /etc/omnisync/omnisync.conf

        """

    static let migrate = """
        Usage: omnisync migrate [-c FILE] [--site NAME]

        Installs or upgrades the omnisync schema in every site of the configuration, or only
        in the one named by --site. Safe to repeat: a site already up to date is left alone.
        Each site's name is recorded in its database, and a database that already belongs to
        another site name is refused. An unreachable site does not stop the others.

        Declared tables ([table SCHEMA.NAME]) are checked first at every site, as
        'omnisync check' does: if any problem is fatal, nothing is changed anywhere (exit 78).
        Then each table gets its state table, capture triggers and count function, and the
        rows it already holds are captured as that site's inserts. After a migrate that changes
        declarations, reload the daemon (omnisync reload).

        Options:
          -c, --config FILE   configuration file (default: /etc/omnisync/omnisync.conf)
              --site NAME     migrate only this site
          -h, --help          show this help

        Exit codes:
          0   every site migrated or already up to date
          1   a migration failed
          64  bad usage, or --site names no site of the configuration
          69  a site could not be reached (the others were migrated)
          78  configuration error, a database of another site, or a fatal check problem

        Example:
          omnisync migrate -c /etc/omnisync/omnisync.conf --site store-042

        """

    static let conflictsResolve = """
        Usage: omnisync conflicts resolve [-c FILE] ID

        Marks the conflict ID (as listed by 'omnisync conflicts') resolved at every site
        that holds it. Resolving records that a person has dealt with it; it does not
        change stock, carts or orders.

        Options:
          -c, --config FILE   configuration file (default: /etc/omnisync/omnisync.conf)
          -h, --help          show this help

        Exit codes:
          0   the conflict is marked resolved
          1   no conflict has this ID
          64  bad usage, or the ID is missing
          69  no site holding conflicts could be reached
          78  configuration error

        Example:
          omnisync conflicts resolve 42 -c /etc/omnisync/omnisync.conf

        """
}
