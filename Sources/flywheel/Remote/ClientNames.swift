import struct FlywheelClient.SessionPage

/// The client library's page of sessions; `Host` has a `SessionPage` of its own.
typealias APISessionPage = SessionPage
