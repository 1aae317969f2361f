/// The email and password do not match a user. Says nothing about which was wrong.
/// (HTTP: 401 `INVALID_CREDENTIALS`.)
public struct InvalidCredentials: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String { "the email or password is wrong" }
}

/// A refresh token that cannot be exchanged. (HTTP: 401 `INVALID_REFRESH_TOKEN`, or
/// `REFRESH_TOKEN_REUSED` when a used token came back and its whole family was revoked.)
public struct RefreshTokenRejected: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable {
        case unknown
        case expired
        case revoked
        /// Used before: someone else may hold its successor, so every token of the sign-in is revoked.
        case reused
    }

    public var reason: Reason
    /// The sign-in that was ended, for a reuse.
    public var signIn: String?

    public init(reason: Reason, signIn: String? = nil) {
        self.reason = reason
        self.signIn = signIn
    }

    public var description: String {
        switch reason {
        case .unknown: "the refresh token is not one this gateway issued"
        case .expired: "the refresh token has expired; sign in again"
        case .revoked: "the refresh token was revoked (signed out); sign in again"
        case .reused: "the refresh token was already used, so every token of that sign-in is now revoked; sign in again"
        }
    }
}

/// Another user has this email. (HTTP: 409 `EMAIL_TAKEN`.)
public struct EmailTaken: Error, Sendable, Equatable, CustomStringConvertible {
    public var email: String
    public var description: String { "a user with email \(email) already exists" }
}

/// No user has this id. (HTTP: 404 `USER_NOT_FOUND`.)
public struct UserNotFound: Error, Sendable, Equatable, CustomStringConvertible {
    public var userID: String
    public var description: String { "user \(userID) not found" }
}

/// No API key of this user has this id. (HTTP: 404 `API_KEY_NOT_FOUND`.)
public struct APIKeyNotFound: Error, Sendable, Equatable, CustomStringConvertible {
    public var keyID: String
    public var description: String { "API key \(keyID) not found" }
}

/// An API key that does not open the API. (HTTP: 401 `INVALID_API_KEY`.)
public struct APIKeyRejected: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable { case unknown, revoked, expired }
    public var reason: Reason
    /// The sign-in that was ended, for a reuse.
    public var signIn: String?

    public init(reason: Reason, signIn: String? = nil) {
        self.reason = reason
        self.signIn = signIn
    }

    public var description: String {
        switch reason {
        case .unknown: "the API key is not one this gateway issued"
        case .revoked: "the API key was revoked"
        case .expired: "the API key has expired"
        }
    }
}

/// The change would leave no admin. (HTTP: 409 `LAST_ADMIN`.)
public struct LastAdmin: Error, Sendable, Equatable, CustomStringConvertible {
    public var userID: String
    public var description: String { "user \(userID) is the last admin: make another user admin first" }
}
