import Foundation

/// The load generator and stopwatch behind scripts/bench.sh. Each command does one step of a
/// scenario against the site databases and prints its measurements as `name=value` lines.
@main
struct OmnisyncBench {
    static let usage = """
        usage: omnisync-bench COMMAND OPTIONS
          seed     --source S=CONN --target T=CONN... ROWS   insert rows at S, wait until every T has them
          steady   --source S=CONN --target T=CONN... ROWS [--rate 1000] [--primary T1,T2]
                   one decrement per row at a fixed rate; commit-to-visible latency per target
          burst    --source S=CONN --target T=CONN... ROWS --updates N [--connections 2]
                   N decrements as fast as possible; end-to-end rate and lag after the last commit
          backlog  --source S=CONN ROWS --updates N [--per-transaction 100] [--connections 2]
                   N decrements (daemon stopped)
          await    --target T=CONN... ROWS --updates N --since MICROS
                   wait until every T has the N decrements; rate since MICROS
          chain-seed --hub H=CONN --store S=CONN... CHAIN
                   seed each store's stock at the store and the customers at the hub; wait for the hub
          chain    --hub H=CONN --store S=CONN... CHAIN [--rate 1000] [--web-rate 100] [--threads 4]
                   store sales, web sales of store stock and follows at steady rates; latencies
          report   --results FILE --environment FILE --output FILE
                   render the measured table into FILE (between its result markers)
        CHAIN: --sales N --web-sales N [--follows 20] [--initial 1000000]
        ROWS: --prefix P --location L --rows N [--initial 1000000]; every command takes [--timeout SECONDS]
        """

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let command = arguments.first else {
            fail(BenchFailure.usage("missing command"))
        }
        let rest = Array(arguments.dropFirst())
        do {
            switch command {
            case "seed": try SeedCommand.run(rest)
            case "steady": try SteadyCommand.run(rest)
            case "burst": try BurstCommand.run(rest)
            case "backlog": try BacklogCommand.run(rest)
            case "await": try AwaitCommand.run(rest)
            case "chain-seed": try ChainCommand.seed(rest)
            case "chain": try ChainCommand.steady(rest)
            case "report": try ReportCommand.run(rest)
            case "--help", "-h": print(usage)
            default: throw BenchFailure.usage("unknown command '\(command)'")
            }
        } catch {
            fail(error)
        }
    }

    static func fail(_ error: any Error) -> Never {
        let usageError = (error as? BenchFailure)?.isUsage ?? false
        FileHandle.standardError.write(Data(("omnisync-bench: \(error)\n" + (usageError ? usage + "\n" : "")).utf8))
        exit(usageError ? 64 : 1)
    }
}
