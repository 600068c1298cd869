import Crypto

/// Secret comparisons whose duration does not depend on where the inputs differ.
enum ConstantTime {
    /// Compares SHA-256 digests of both sides byte by byte without early exit, so that neither
    /// the position of the first difference nor the secret's length leaks through timing.
    static func equals(_ lhs: some Sequence<UInt8>, _ rhs: some Sequence<UInt8>) -> Bool {
        let left = Array(SHA256.hash(data: Array(lhs)))
        let right = Array(SHA256.hash(data: Array(rhs)))
        var difference: UInt8 = 0
        for index in 0..<left.count {
            difference |= left[index] ^ right[index]
        }
        return difference == 0
    }
}
