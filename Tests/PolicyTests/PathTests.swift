@testable import Guard
import Testing

@Suite("paths read lexically")
struct PathTests {
    /// Every path made of up to four parts drawn from names, `.`, `..`, `*`, empty parts, with and
    /// without a leading and trailing slash: the quick answer always agrees with the long way.
    @Test("the shortcut for paths that are already normal agrees with splitting them")
    func shortcutAgrees() {
        let parts = ["a", "bin", ".", "..", "...", ".x", "x.", "*", "*.log", ""]
        var paths: Set<String> = ["", "/", "//", ".", "..", "*", "~", "~/", "$HOME"]
        func grow(_ prefix: [String], _ depth: Int) {
            for part in parts {
                let next = prefix + [part]
                let joined = next.joined(separator: "/")
                paths.formUnion([joined, "/" + joined, joined + "/", "/" + joined + "/"])
                if depth > 1 { grow(next, depth - 1) }
            }
        }
        grow([], 4)
        #expect(paths.count > 10_000)
        for path in paths {
            #expect(Paths.normalized(path) == Paths.normalizedBySplitting(path), "\(path)")
        }
        #expect(Paths.isNormal("/usr/local/bin"))
        #expect(!Paths.isNormal("/usr/../etc"))
        #expect(!Paths.isNormal("/tmp/*"))
    }
}
