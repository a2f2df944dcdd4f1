import CLibPQ

/// Encoding a statement for libpq: parameters in one buffer, and the prepared-statement cache.
extension PostgresConnection {
    static let maximumParameters = 65535
    static let maximumPrepared = 128

    /// A statement's parameters in one buffer, each NUL-terminated (one allocation), and the
    /// name it is prepared under, if it is.
    struct EncodedStatement {
        let sql: String
        let storage: [CChar]
        let offsets: [Int?]
        let preparedName: String?

        private func withValues<T>(_ body: ([UnsafePointer<CChar>?]) -> T) -> T {
            storage.withUnsafeBufferPointer { buffer in
                body(offsets.map { offset in
                    guard let offset, let base = buffer.baseAddress else { return nil }
                    return base + offset
                })
            }
        }

        func send(_ handle: OpaquePointer) -> Int32 {
            withValues { values in
                if let preparedName {
                    return PQsendQueryPrepared(handle, preparedName, Int32(values.count), values, nil, nil, 0)
                }
                return PQsendQueryParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
            }
        }
    }

    func encode(_ statement: Statement, handle: OpaquePointer) throws(PostgresError) -> EncodedStatement {
        let (sql, params, label) = (statement.sql, statement.params, statement.label)
        // A prepared text was checked when it was prepared.
        guard (!params.isEmpty && preparedNames[sql] != nil) || !sql.utf8.contains(0) else {
            throw .invalidInput("the SQL text contains a NUL byte", statement: label)
        }
        guard params.count <= Self.maximumParameters else {
            throw .invalidInput(
                "\(params.count) parameters exceed the protocol's limit of \(Self.maximumParameters); pass arrays instead",
                statement: label)
        }
        var storage: [CChar] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(params.count)
        storage.reserveCapacity(params.reduce(params.count) { $0 + ($1?.utf8.count ?? 0) })
        for (index, param) in params.enumerated() {
            guard let param else {
                offsets.append(nil)
                continue
            }
            offsets.append(storage.count)
            for byte in param.utf8 {
                guard byte != 0 else {
                    throw .invalidInput(
                        "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot hold",
                        statement: label)
                }
                storage.append(CChar(bitPattern: byte))
            }
            storage.append(0)
        }
        let name = params.isEmpty ? nil : try preparedName(sql, handle: handle, label: label)
        return EncodedStatement(sql: sql, storage: storage, offsets: offsets, preparedName: name)
    }

    /// The name `sql` is prepared under, preparing it first if needed; nil when the cache is full.
    private func preparedName(_ sql: String, handle: OpaquePointer, label: String) throws(PostgresError) -> String? {
        if let name = preparedNames[sql] { return name }
        guard preparedNames.count < Self.maximumPrepared else { return nil }
        preparedCount += 1
        let name = "omnisync_\(preparedCount)"
        _ = try consume(exchange(handle, label: label) { PQsendPrepare(handle, name, sql, 0, nil) }, handle: handle, label: label)
        preparedNames[sql] = name
        return name
    }}
