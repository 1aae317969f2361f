import Foundation
import Guard
import Host
import Hummingbird

/// `/api/dcg`: anyone signed in may ask what the guard decides and see held commands; operators
/// approve or deny them, recorded under their email.
struct PolicyRoutes {
    let approvals: ApprovalService
    let maxBody: Int

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
