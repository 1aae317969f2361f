import Foundation
import Host

/// The API's JSON for stored records, for front ends that read the store directly (the CLI without
/// `--server`), so that they print what the server would answer.
public enum APIShapes {
    public static func session(_ session: SessionRecord) throws -> Data {
        try APIJSON.encoder.encode(SessionJSON(session))
    }

    public static func sessionPage(_ page: SessionPage) throws -> Data {
        try APIJSON.encoder.encode(SessionPageJSON(sessions: page.sessions.map(SessionJSON.init), nextCursor: page.nextCursor))
    }

    public static func decisions(_ decisions: [CommandDecisionRecord]) throws -> Data {
        try APIJSON.encoder.encode(decisions.map(CommandDecisionJSON.init))
    }
}
