/// A set of names that answers "no" cheaply: most words a check looks up (file names, prose in a
/// heredoc, options) name no program the guard knows, and a `Set<String>` hashes every one of them.
/// A table of which (first byte, length) pairs occur settles most of those without hashing.
struct NameSet: Sendable, ExpressibleByArrayLiteral {
    let names: Set<String>
    /// For each first byte, bit `min(length, 63)` is set when some name starts so and is that long.
    private let shapes: [UInt64]

    init(_ names: Set<String>) {
        self.names = names
        var shapes = [UInt64](repeating: 0, count: 256)
        for name in names {
            guard let first = name.utf8.first else { continue }
            shapes[Int(first)] |= 1 << UInt64(min(name.utf8.count, 63))
        }
        self.shapes = shapes
    }

    init(arrayLiteral names: String...) {
        self.init(Set(names))
    }

    func contains(_ name: String) -> Bool {
        guard let first = name.utf8.first,
              shapes[Int(first)] & (1 << UInt64(min(name.utf8.count, 63))) != 0 else { return name.isEmpty && names.contains("") }
        return names.contains(name)
    }

    func union(_ other: NameSet) -> NameSet { NameSet(names.union(other.names)) }
    func subtracting(_ other: NameSet) -> NameSet { NameSet(names.subtracting(other.names)) }
}
