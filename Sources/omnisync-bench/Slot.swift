/// One scheduled decrement: its row, when it was sent and acknowledged (wall µs), how late it
/// was sent (ns).
struct Slot: Sendable {
    let index: Int
    let sent: Int64
    let acknowledged: Int64
    let late: Int64
}
