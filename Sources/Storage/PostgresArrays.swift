import NIOCore
import PostgresNIO

/// One-dimensional PostgreSQL arrays whose elements may be NULL, in the binary format, for
/// the `unnest($1::text[], ...)` statements of the ingest transaction. PostgresNIO's own array
/// encoding has no NULL elements; optional columns (subject, scheduled audit name, error code
/// ...) need them.
struct PostgresNullableArray<Element: Sendable>: PostgresNonThrowingEncodable, Sendable {
    let elements: [Element?]
    let write: @Sendable (Element, inout ByteBuffer) -> Void
    let elementType: PostgresDataType
    let arrayType: PostgresDataType

    static var psqlType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    var psqlType: PostgresDataType { arrayType }
    var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // Dimensions, whether any element is NULL, the element type.
        buffer.writeInteger(Int32(elements.isEmpty ? 0 : 1))
        buffer.writeInteger(Int32(elements.contains { $0 == nil } ? 1 : 0))
        buffer.writeInteger(elementType.rawValue)
        guard !elements.isEmpty else { return }
        // The one dimension: its length and lower bound.
        buffer.writeInteger(Int32(elements.count))
        buffer.writeInteger(Int32(1))
        for element in elements {
            guard let element else {
                buffer.writeInteger(Int32(-1))
                continue
            }
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(Int32(0))
            let start = buffer.writerIndex
            write(element, &buffer)
            buffer.setInteger(Int32(buffer.writerIndex - start), at: lengthIndex)
        }
    }
}

extension PostgresNullableArray where Element == String {
    /// `text[]`.
    static func text(_ values: [String?]) -> Self {
        Self(elements: values, write: { value, buffer in buffer.writeString(value) }, elementType: .text, arrayType: .textArray)
    }
}

extension PostgresNullableArray where Element == Int64 {
    /// `int8[]`.
    static func int8(_ values: [Int64?]) -> Self {
        Self(elements: values, write: { value, buffer in buffer.writeInteger(value) }, elementType: .int8, arrayType: .int8Array)
    }
}

extension PostgresNullableArray where Element == [UInt8] {
    /// `bytea[]`.
    static func bytea(_ values: [[UInt8]?]) -> Self {
        Self(elements: values, write: { value, buffer in buffer.writeBytes(value) }, elementType: .bytea, arrayType: .byteaArray)
    }
}
