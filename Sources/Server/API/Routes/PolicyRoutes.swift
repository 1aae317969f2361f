import Foundation
import Guard
import Host
import Hummingbird

/// `/api/dcg`: anyone signed in may ask what the guard decides and see held commands; operators
/// approve or deny them, recorded under their email.
struct PolicyRoutes {
    let approvals: ApprovalService
    let policy: PolicyService
    let maxBody: Int

    struct Replace: APIRequestBody {
        static let fields: Set<String> = ["toml", "version"]
        var toml: String
        var version: String?
    }

    /// The policy in force: its settings, and the TOML that reads back to them.
    struct ConfigJSON: Encodable {
        struct Rule: Encodable {
            var exact: String?
            var prefix: String?
            var regex: String?
            var reason: String
            var expires: Date?
            var severity: String?
        }

        var source: String
        var version: String
        var toml: String
        var enabledPacks: [String]
        var modes: [String: String]
        var allow: [Rule]
        var block: [Rule]

        init(_ snapshot: PolicyService.Snapshot) {
            source = snapshot.source.rawValue
            version = snapshot.version
            toml = snapshot.toml
            let configuration = snapshot.configuration
            enabledPacks = configuration.enabledPacks.sorted()
            modes = configuration.modes.mapValues(\.rawValue)
            func rule(_ override: PolicyOverride, block: Bool) -> Rule {
                var rule = Rule(reason: override.reason, expires: override.expires, severity: block ? override.severity.rawValue : nil)
                switch override.matcher {
                case .exact(let text): rule.exact = text
                case .prefix(let text): rule.prefix = text
                case .regex(let text, _): rule.regex = text
                }
                return rule
            }
            allow = configuration.allowRules.map { rule($0, block: false) }
            block = configuration.blockRules.map { rule($0, block: true) }
        }
    }

    struct Check: APIRequestBody {
        static let fields: Set<String> = ["command"]
        var command: String
    }

    struct DecisionJSON: Encodable {
        var decision: String
        var ruleId: String?
        var packId: String?
        var severity: String?
        var reason: String?
        var alternative: String?

        init(_ decision: PolicyDecision) {
            self.decision = decision.verdict.rawValue
            ruleId = decision.ruleID
            packId = decision.packID
            severity = decision.severity?.rawValue
            reason = decision.reason
            alternative = decision.alternative
        }
    }

    struct DecisionPageJSON: Encodable {
        var decisions: [CommandDecisionJSON]
        var nextCursor: String?
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        let dcg = api.group("dcg")
        dcg.group("check").add(middleware: RequireRole(.viewer)).post { request, _ -> Response in
            let body = try await request.decodeStrictly(Check.self, limit: maxBody)
            return try APIJSON.response(DecisionJSON(await approvals.check(body.command)))
        }
        dcg.group("decisions").add(middleware: RequireRole(.viewer)).get { request, _ -> Response in
            let query = request.uri.queryParameters
            let filter = CommandDecisionFilter(
                sessionID: query.get("sessionId"),
                verdicts: try SessionRoutes.values(query.get("decision"), field: "decision", of: PolicyVerdict.self),
                statuses: try SessionRoutes.values(query.get("status"), field: "status", of: CommandDecisionRecord.Status.self))
            let limit = try SessionRoutes.integer(query.get("limit"), field: "limit", in: 1...SessionRoutes.maxPageSize) ?? 50
            let page = try await approvals.decisions(filter, limit: limit, cursor: query.get("cursor"))
            return try APIJSON.response(DecisionPageJSON(decisions: page.decisions.map(CommandDecisionJSON.init), nextCursor: page.nextCursor))
        }
        // The policy itself: admins only, since it decides what every agent may run.
        let config = dcg.group("config").add(middleware: RequireRole(.admin))
        config.get { _, _ -> Response in
            try APIJSON.response(ConfigJSON(policy.current))
        }
        config.put { request, _ -> Response in
            let body = try await request.decodeStrictly(Replace.self, limit: maxBody)
            return try APIJSON.response(ConfigJSON(try await policy.replace(toml: body.toml, expectedVersion: body.version)))
        }
        config.delete { request, _ -> Response in
            try APIJSON.response(ConfigJSON(try await policy.reset(expectedVersion: request.uri.queryParameters.get("version"))))
        }
        let pending = dcg.group("pending").add(middleware: RequireRole(read: .viewer, write: .operator))
        pending.get { request, _ -> Response in
            let held = try await approvals.pending(sessionID: request.uri.queryParameters.get("sessionId"))
            return try APIJSON.response(ListJSON(items: held.map(CommandDecisionJSON.init)))
        }
        pending.post(":id/approve") { _, context -> Response in
            let who = try context.authenticated().email
            return try APIJSON.response(CommandDecisionJSON(try await approvals.approve(try context.parameters.require("id"), by: who)))
        }
        pending.post(":id/deny") { _, context -> Response in
            let who = try context.authenticated().email
            return try APIJSON.response(CommandDecisionJSON(try await approvals.deny(try context.parameters.require("id"), by: who)))
        }
    }
}
