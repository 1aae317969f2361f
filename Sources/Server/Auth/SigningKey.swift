import Foundation
import Host

/// The secret that signs access tokens: `FLYWHEEL_JWT_SECRET` when set (at least 32 bytes), else
/// the file `jwt-signing.key` in the data directory, made on first start with mode 0600 and never
/// accepted when others can read it.
public struct SigningKey: Sendable {
    let bytes: [UInt8]

    /// A short hash of the key, safe to log: tells two keys apart without revealing either.
    public var fingerprint: String {
        String(PeopleService.digest(Data(bytes).base64EncodedString()).prefix(16))
    }

    public static let environmentVariable = "FLYWHEEL_JWT_SECRET"
    public static let fileName = "jwt-signing.key"

    /// Why there is no usable key.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static func load(dataDirectory: URL, environment: [String: String]) throws -> SigningKey {
        if let secret = environment[environmentVariable] {
            guard secret.utf8.count >= 32 else {
                throw Failure(description: "\(environmentVariable) must be at least 32 bytes (it is \(secret.utf8.count))")
            }
            return SigningKey(bytes: Array(secret.utf8))
        }
        let file = dataDirectory.appendingPathComponent(fileName)
        let manager = FileManager.default
        if manager.fileExists(atPath: file.path) {
            let attributes = try manager.attributesOfItem(atPath: file.path)
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
            guard mode & 0o077 == 0 else {
                throw Failure(description: "\(file.path) can be read by other users (mode \(String(mode, radix: 8))); run chmod 600 on it")
            }
            guard let text = try? String(contentsOf: file, encoding: .utf8),
                  let decoded = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), decoded.count >= 32 else {
                throw Failure(description: "\(file.path) does not hold a signing key (base64 of at least 32 bytes)")
            }
            return SigningKey(bytes: Array(decoded))
        }
        try manager.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<64).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        // Created with 0600 from the start, never readable by others even for a moment.
        guard manager.createFile(atPath: file.path, contents: Data((Data(bytes).base64EncodedString() + "\n").utf8),
                                 attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "cannot create \(file.path)")
        }
        return SigningKey(bytes: bytes)
    }
}
