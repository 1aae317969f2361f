import Crypto
import Foundation

/// Seals account credentials with AES-256-GCM. The account's provider and label are bound as
/// authenticated data, so a sealed blob moved to another account does not open.
public struct CredentialCipher: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The cipher with the gateway's secret key (see ``SecretKeyLoader``).
    public init(environment: [String: String], keyFile: URL) throws(SecretKeyLoader.Failure) {
        self.init(key: try SecretKeyLoader.load(environment: environment, keyFile: keyFile))
    }

    public struct OpenError: Error, CustomStringConvertible {
        public var description: String
    }

    public func seal(_ plaintext: [UInt8], provider: String, label: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Self.context(provider, label))
        guard let combined = box.combined else { throw OpenError(description: "sealing produced no output") }
        return [UInt8](combined)
    }

    public func open(_ sealed: [UInt8], provider: String, label: String) throws(OpenError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return [UInt8](try AES.GCM.open(box, using: key, authenticating: Self.context(provider, label)))
        } catch {
            throw OpenError(description: "the credentials of \(provider)/\(label) cannot be opened with this secret key (wrong key or tampered data)")
        }
    }

    private static func context(_ provider: String, _ label: String) -> Data {
        Data("flywheel.account.v1\u{0}\(provider)\u{0}\(label)".utf8)
    }
}

/// Where the secret key comes from: `FLYWHEEL_SECRET_KEY`, or a key file made on first run.
public enum SecretKeyLoader {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the key from `environment["FLYWHEEL_SECRET_KEY"]` (base64 of 32 bytes) or, without it,
    /// from `keyFile`, creating that file with 32 random bytes and mode 0600 when it does not exist.
    /// A key file that group or others can read is refused. The key is never logged.
    public static func load(environment: [String: String], keyFile: URL) throws(Failure) -> SymmetricKey {
        if let encoded = environment["FLYWHEEL_SECRET_KEY"] {
            guard let bytes = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw Failure(description: "FLYWHEEL_SECRET_KEY is not valid base64 (expected 32 random bytes, base64-encoded: `openssl rand -base64 32`)")
            }
            guard bytes.count == 32 else {
                throw Failure(description: "FLYWHEEL_SECRET_KEY decodes to \(bytes.count) bytes; it must be exactly 32")
            }
            return SymmetricKey(data: bytes)
        }
        let path = keyFile.path
        let fileManager = FileManager.default
        if !fileManager.fileExists(atPath: path) {
            do {
                try fileManager.createDirectory(at: keyFile.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
            } catch {
                throw Failure(description: "cannot create \(keyFile.deletingLastPathComponent().path): \((error as NSError).localizedDescription)")
            }
            let key = SymmetricKey(size: .bits256)
            let bytes = key.withUnsafeBytes { Data($0) }
            // O_EXCL: never overwrite a key another process made at the same moment.
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            if descriptor >= 0 {
                let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                fsync(descriptor)
                close(descriptor)
                guard written == bytes.count else { throw Failure(description: "cannot write the key file \(path)") }
                return key
            }
            guard errno == EEXIST else { throw Failure(description: "cannot create the key file \(path): \(String(cString: strerror(errno)))") }
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw Failure(description: "cannot read the key file \(path)") }
        guard info.st_mode & 0o077 == 0 else {
            throw Failure(description: "the key file \(path) is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
        }
        guard let bytes = fileManager.contents(atPath: path) else { throw Failure(description: "cannot read the key file \(path)") }
        guard bytes.count == 32 else { throw Failure(description: "the key file \(path) holds \(bytes.count) bytes; it must hold exactly 32") }
        return SymmetricKey(data: bytes)
    }
}
