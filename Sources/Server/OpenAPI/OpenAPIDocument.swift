/// The API's contract, OpenAPI 3.1, served at `GET /openapi.json`. Written by hand next to the
/// routes; a test checks that every route is documented and every documented route exists, and
/// schemathesis (in CI) checks the live server against it.
enum OpenAPIDocument {
    /// The document with the drivers this gateway has loaded as the values `driverId` may take.
    static func json(driverIDs: [String]) -> String {
        let choices = driverIDs.map { "\"\($0)\"" }.joined(separator: ", ")
        return json.replacingOccurrences(of: #""DriverID": {"type": "string","#, with: #""DriverID": {"type": "string", "enum": [\#(choices)],"#)
    }

    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Flywheel Gateway API",
    "version": "1.0.0",
    "description": "Agents, sessions, their events and held commands, over HTTP. See docs/api.md. Every error is {\"error\": {\"code\", \"message\", \"hint\"?, \"field\"?}}."
  },
  "servers": [{"url": "/"}],
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "description": "An access token from POST /auth/login, or an API key (fwk_…)."}
    },
    "schemas": {
      "Error": {
        "type": "object", "required": ["error"], "additionalProperties": false,
        "properties": {
          "error": {
            "type": "object", "required": ["code", "message"], "additionalProperties": false,
            "properties": {
              "code": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": "string"}, "field": {"type": "string"},
              "line": {"type": "integer", "minimum": 1}
            }
          }
        }
      },
      "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
      "Readiness": {
        "type": "object", "required": ["status", "plugins", "sandbox"],
        "properties": {"status": {"type": "string"}, "plugins": {"type": "integer"}, "sandbox": {"type": "string"}}
      },
      "Login": {
        "type": "object", "required": ["email", "password"], "additionalProperties": false,
        "properties": {"email": {"type": "string"}, "password": {"type": "string"}}
      },
      "RefreshToken": {
        "type": "object", "required": ["refreshToken"], "additionalProperties": false,
        "properties": {"refreshToken": {"type": "string"}}
      },
      "TokenPair": {
        "type": "object", "required": ["token", "refreshToken", "expiresIn", "tokenType"],
        "properties": {
          "token": {"type": "string"}, "refreshToken": {"type": "string"}, "expiresIn": {"type": "integer"}, "tokenType": {"const": "Bearer"}
        }
      },
      "Role": {"type": "string", "enum": ["admin", "operator", "viewer"]},
      "User": {
        "type": "object", "required": ["id", "email", "role", "createdAt"],
        "properties": {"id": {"type": "string"}, "email": {"type": "string"}, "role": {"$ref": "#/components/schemas/Role"}, "createdAt": {"type": "string", "format": "date-time"}}
      },
      "UserCreate": {
        "type": "object", "required": ["email", "password", "role"], "additionalProperties": false,
        "properties": {
          "email": {"type": "string", "pattern": "^[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^@\\s\\x00-\\x1f\\x7f-\\x9f]+$", "maxLength": 254},
          "password": {"type": "string", "minLength": 8, "maxLength": 1024},
          "role": {"$ref": "#/components/schemas/Role"}
        }
      },
      "UserChange": {
        "type": "object", "additionalProperties": false, "description": "Only the fields given change; null counts as not given.",
        "properties": {
          "role": {"anyOf": [{"$ref": "#/components/schemas/Role"}, {"type": "null"}]},
          "password": {"type": ["string", "null"], "minLength": 8, "maxLength": 1024}
        }
      },
      "UserList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}},
      "APIKey": {
        "type": "object", "required": ["id", "name", "prefix", "userId", "createdAt"],
        "properties": {
          "id": {"type": "string"}, "name": {"type": "string"}, "prefix": {"type": "string"}, "userId": {"type": "string"},
          "createdAt": {"type": "string", "format": "date-time"}, "expiresAt": {"type": "string", "format": "date-time"},
          "lastUsedAt": {"type": "string", "format": "date-time"}, "revokedAt": {"type": "string", "format": "date-time"},
          "key": {"type": "string", "description": "Only in the answer that creates the key."}
        }
      },
      "APIKeyCreate": {
        "type": "object", "required": ["name"], "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "pattern": "\\S", "maxLength": 100},
          "expiresInDays": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3650}
        }
      },
      "APIKeyList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/APIKey"}}}},
      "Plugin": {
        "type": "object", "required": ["manifest", "status"],
        "properties": {
          "manifest": {"type": "string"}, "status": {"type": "string", "enum": ["loaded", "disabled", "rejected"]},
          "driverId": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"}, "abiVersion": {"type": "string"}, "reason": {"type": "string"}
        }
      },
      "PluginList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Plugin"}}}},
      "Agent": {
        "type": "object", "required": ["id", "name", "driverId", "config", "environmentNames", "enabled", "createdAt", "updatedAt"],
        "properties": {
          "id": {"type": "string"}, "name": {"type": "string"}, "driverId": {"type": "string"}, "config": {"type": "object"},
          "environmentNames": {"type": "array", "items": {"type": "string"}}, "workspace": {"type": "string"}, "network": {"type": "boolean"},
          "enabled": {"type": "boolean"}, "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"}
        }
      },
      "AgentName": {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"},
      "DriverID": {"type": "string", "description": "A loaded driver (GET /api/plugins)."},
      "AgentCreate": {
        "type": "object", "required": ["name", "driverId"], "additionalProperties": false,
        "description": "Fields given as null count as not given.",
        "properties": {
          "name": {"$ref": "#/components/schemas/AgentName"}, "driverId": {"$ref": "#/components/schemas/DriverID"},
          "config": {"type": ["object", "null"]},
          "environment": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}, "workspace": {"type": ["string", "null"], "pattern": "^/[^\\x00]*$", "description": "an absolute path; not a system or top-level folder, nor one holding or inside the gateway's own files (422 WORKSPACE_NOT_ALLOWED)"},
          "network": {"type": ["boolean", "null"]}, "enabled": {"type": ["boolean", "null"]}
        }
      },
      "AgentChange": {
        "type": "object", "additionalProperties": false,
        "description": "Only the fields given change; null counts as not given.",
        "properties": {
          "name": {"anyOf": [{"$ref": "#/components/schemas/AgentName"}, {"type": "null"}]},
          "driverId": {"anyOf": [{"$ref": "#/components/schemas/DriverID"}, {"type": "null"}]},
          "config": {"type": ["object", "null"]},
          "environment": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}, "workspace": {"type": ["string", "null"], "pattern": "^/[^\\x00]*$", "description": "an absolute path; not a system or top-level folder, nor one holding or inside the gateway's own files (422 WORKSPACE_NOT_ALLOWED)"},
          "network": {"type": ["boolean", "null"]}, "enabled": {"type": ["boolean", "null"]}
        }
      },
      "AgentList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}}}},
      "Account": {
        "type": "object", "required": ["id", "provider", "label", "status", "createdAt"],
        "properties": {
          "id": {"type": "string"}, "provider": {"type": "string"}, "label": {"type": "string"},
          "status": {"type": "string", "enum": ["verified", "cooldown", "disabled", "invalid"]},
          "statusReason": {"type": "string", "description": "Why the account is out of rotation: set by the gateway (a refused key, no credit left, a rate limit) or an operator."},
          "cooldownUntil": {"type": "string", "format": "date-time"}, "lastUsedAt": {"type": "string", "format": "date-time"},
          "createdAt": {"type": "string", "format": "date-time"}
        }
      },
      "AccountVerification": {
        "type": "object", "required": ["outcome", "message", "account"],
        "properties": {
          "outcome": {"type": "string", "enum": ["verified", "invalid", "out_of_credit", "rate_limited", "inconclusive"],
                      "description": "What the provider said of the key. inconclusive: nothing was learnt (unreachable, or an answer that does not speak of the key); the account is unchanged."},
          "message": {"type": "string", "description": "The provider's words, for an operator; never the key."},
          "account": {"$ref": "#/components/schemas/Account"}
        }
      },
      "AccountAdd": {
        "type": "object", "required": ["provider", "label", "credentials"], "additionalProperties": false,
        "properties": {
          "provider": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"},
          "label": {"type": "string", "minLength": 1, "maxLength": 128},
          "credentials": {"type": "object", "description": "Sealed at rest; never returned."}
        }
      },
      "AccountChange": {"type": "object", "required": ["enabled"], "additionalProperties": false, "properties": {"enabled": {"type": "boolean"}}},
      "AccountList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}}},
      "SessionState": {"type": "string", "enum": ["created", "queued", "running", "paused", "done", "failed", "cancelled"]},
      "Session": {
        "type": "object", "required": ["id", "agentId", "task", "state", "createdAt", "updatedAt", "lastSeq"],
        "properties": {
          "id": {"type": "string"}, "agentId": {"type": "string"}, "task": {"type": "string"}, "state": {"$ref": "#/components/schemas/SessionState"},
          "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
          "startedAt": {"type": "string", "format": "date-time"}, "endedAt": {"type": "string", "format": "date-time"},
          "error": {"type": "string"}, "waitingReason": {"type": "string"}, "lastSeq": {"type": "integer"}
        }
      },
      "SessionCreate": {
        "type": "object", "required": ["agentId", "task"], "additionalProperties": false,
        "properties": {"agentId": {"type": "string"}, "task": {"type": "string", "minLength": 1}}
      },
      "SessionPage": {
        "type": "object", "required": ["sessions"],
        "properties": {"sessions": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}}, "nextCursor": {"type": "string"}}
      },
      "Event": {
        "type": "object", "required": ["sessionId", "seq", "type", "time", "data"],
        "properties": {"sessionId": {"type": "string"}, "seq": {"type": "integer"}, "type": {"type": "string"}, "time": {"type": "string", "format": "date-time"}, "data": {}}
      },
      "EventList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}},
      "Checkpoint": {
        "type": "object", "required": ["id", "seq", "bytes", "createdAt"],
        "properties": {"id": {"type": "integer"}, "seq": {"type": "integer"}, "bytes": {"type": "integer"}, "createdAt": {"type": "string", "format": "date-time"}}
      },
      "CheckpointList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Checkpoint"}}}},
      "CommandDecision": {
        "type": "object", "required": ["id", "sessionId", "command", "decision", "status", "createdAt"],
        "properties": {
          "id": {"type": "string"}, "sessionId": {"type": "string"}, "command": {"type": "string"},
          "decision": {"type": "string", "enum": ["allow", "warn", "log", "ask", "deny"]}, "ruleId": {"type": "string"}, "packId": {"type": "string"},
          "severity": {"type": "string"}, "reason": {"type": "string"},
          "status": {"type": "string", "enum": ["pending", "approved", "denied", "expired", "blocked", "ran", "failed", "refused", "cancelled", "delegated"]},
          "exitCode": {"type": "integer"}, "createdAt": {"type": "string", "format": "date-time"}, "decidedAt": {"type": "string", "format": "date-time"},
          "decidedBy": {"type": "string"}, "outcome": {"type": "string"}
        }
      },
      "CommandDecisionList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/CommandDecision"}}}},
      "PolicyRule": {
        "type": "object", "required": ["reason"],
        "properties": {"exact": {"type": "string"}, "prefix": {"type": "string"}, "regex": {"type": "string"}, "reason": {"type": "string"},
                       "expires": {"type": "string", "format": "date-time"}, "severity": {"type": "string", "enum": ["low", "medium", "high", "critical"]}}
      },
      "PolicyConfig": {
        "type": "object", "required": ["source", "version", "toml", "enabledPacks", "modes", "allow", "block"],
        "properties": {
          "source": {"type": "string", "enum": ["configured", "api"]}, "version": {"type": "string"}, "toml": {"type": "string"},
          "enabledPacks": {"type": "array", "items": {"type": "string"}},
          "modes": {"type": "object", "additionalProperties": {"type": "string", "enum": ["deny", "warn", "log", "ask", "allow"]}},
          "allow": {"type": "array", "items": {"$ref": "#/components/schemas/PolicyRule"}},
          "block": {"type": "array", "items": {"$ref": "#/components/schemas/PolicyRule"}}
        }
      },
      "PolicyReplace": {
        "type": "object", "required": ["toml"], "additionalProperties": false,
        "properties": {"toml": {"type": "string", "description": "A policy.toml: enable, disable, [modes], [[allow]], [[block]]."},
                       "version": {"type": ["string", "null"], "description": "Only if the policy is still this version (from GET); null or absent: whatever it is."}}
      },
      "PluginReload": {
        "type": "object", "required": ["items", "added", "retired"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Plugin"}},
                       "added": {"type": "array", "items": {"type": "string"}}, "retired": {"type": "array", "items": {"type": "string"}}}
      },
      "CommandDecisionPage": {
        "type": "object", "required": ["decisions"],
        "properties": {"decisions": {"type": "array", "items": {"$ref": "#/components/schemas/CommandDecision"}}, "nextCursor": {"type": "string"}}
      },
      "Check": {"type": "object", "required": ["command"], "additionalProperties": false, "properties": {"command": {"type": "string"}}},
      "PolicyDecision": {
        "type": "object", "required": ["decision"],
        "properties": {
          "decision": {"type": "string", "enum": ["allow", "warn", "log", "ask", "deny"]}, "ruleId": {"type": "string"}, "packId": {"type": "string"},
          "severity": {"type": "string"}, "reason": {"type": "string"}, "alternative": {"type": "string"}
        }
      },
      "Ticket": {"type": "object", "required": ["ticket", "expiresIn"], "properties": {"ticket": {"type": "string"}, "expiresIn": {"type": "integer"}}}
    },
    "parameters": {
      "id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}
    },
    "responses": {
      "Error": {"description": "An error; `code` says which.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NoContent": {"description": "Done."}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/health": {"get": {"summary": "Liveness", "security": [], "responses": {
      "200": {"description": "Up.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
      "default": {"$ref": "#/components/responses/Error"}}}},
    "/health/ready": {"get": {"summary": "Readiness", "security": [], "responses": {
      "200": {"description": "Ready.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
      "default": {"$ref": "#/components/responses/Error"}}}},
    "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {
      "200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}},
      "default": {"$ref": "#/components/responses/Error"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
      "200": {"description": "Prometheus text.", "content": {"text/plain": {"schema": {"type": "string"}}}},
      "default": {"$ref": "#/components/responses/Error"}}}},
    "/auth/login": {"post": {"summary": "Sign in", "security": [],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}},
      "responses": {
        "200": {"description": "Signed in.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenPair"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/auth/refresh": {"post": {"summary": "Exchange a refresh token for a new pair", "security": [],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefreshToken"}}}},
      "responses": {
        "200": {"description": "A new pair.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenPair"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/auth/logout": {"post": {"summary": "Sign out", "security": [],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefreshToken"}}}},
      "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/me": {"get": {"summary": "The signed-in user", "responses": {
      "200": {"description": "You.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
      "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/users": {
      "get": {"summary": "Users (admin)", "responses": {
        "200": {"description": "Users.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserList"}}}},
        "default": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Create a user (admin)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserCreate"}}}},
        "responses": {
          "201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/users/{id}": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "A user (admin)", "responses": {
        "200": {"description": "The user.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
        "default": {"$ref": "#/components/responses/Error"}}},
      "patch": {"summary": "Change a user's role or password (admin); a new password signs them out everywhere",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserChange"}}}},
        "responses": {
          "200": {"description": "Changed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "default": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Remove a user, their keys and sign-ins (admin); never the last admin",
        "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/api-keys": {
      "get": {"summary": "Your API keys", "responses": {
        "200": {"description": "Keys (never the key itself).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/APIKeyList"}}}},
        "default": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Create an API key (shown once)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/APIKeyCreate"}}}},
        "responses": {
          "201": {"description": "Created, with `key`.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/APIKey"}}}},
          "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/api-keys/{id}": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "delete": {"summary": "Revoke an API key", "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/plugins": {"get": {"summary": "Plugins in plugins.d", "responses": {
      "200": {"description": "Plugins.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PluginList"}}}},
      "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/plugins/reload": {"post": {"summary": "Read plugins.d again (admin): new plugins load, removed ones retire, running sessions keep theirs",
      "responses": {
        "200": {"description": "The plugins now, and the driver ids added and retired.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PluginReload"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/agents": {
      "get": {"summary": "Agents", "responses": {
        "200": {"description": "Agents.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentList"}}}},
        "default": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Create an agent (operator)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentCreate"}}}},
        "responses": {
          "201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
          "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/agents/{id}": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "An agent (by id or name)", "responses": {
        "200": {"description": "The agent.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
        "default": {"$ref": "#/components/responses/Error"}}},
      "patch": {"summary": "Change an agent (operator)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentChange"}}}},
        "responses": {
          "200": {"description": "Changed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
          "default": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Delete an agent with no sessions (operator)", "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/accounts": {
      "get": {"summary": "Accounts (never their credentials)",
        "parameters": [{"name": "provider", "in": "query", "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Accounts.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccountList"}}}},
          "default": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Add an account (operator)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccountAdd"}}}},
        "responses": {
          "201": {"description": "Added.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
          "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/accounts/{id}": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "An account", "responses": {
        "200": {"description": "The account.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
        "default": {"$ref": "#/components/responses/Error"}}},
      "patch": {"summary": "Take an account out of rotation, or put it back (operator)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccountChange"}}}},
        "responses": {
          "200": {"description": "Changed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
          "default": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Remove an account and its credentials (operator)",
        "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/accounts/{id}/verify": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "post": {"summary": "Check the account's key with its provider and record what it says (operator)", "responses": {
        "200": {"description": "What the provider said, and the account after it.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccountVerification"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions": {
      "get": {"summary": "Sessions, newest first",
        "parameters": [
          {"name": "state", "in": "query", "description": "Comma-separated states.",
           "schema": {"type": "string", "pattern": "^(created|queued|running|paused|done|failed|cancelled)(,(created|queued|running|paused|done|failed|cancelled))*$"}},
          {"name": "agentId", "in": "query", "schema": {"type": "string"}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
          {"name": "cursor", "in": "query", "description": "nextCursor of the previous page.", "schema": {"type": "string", "pattern": "^-?[0-9]{1,18}:.+$"}}],
        "responses": {
          "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SessionPage"}}}},
          "default": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Start a session (operator)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SessionCreate"}}}},
        "responses": {
          "201": {"description": "Queued.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
          "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions/{id}": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "A session", "responses": {
        "200": {"description": "The session.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions/{id}/pause": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "post": {"summary": "Pause (operator)", "responses": {
        "200": {"description": "The session.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions/{id}/resume": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "post": {"summary": "Resume (operator)", "responses": {
        "200": {"description": "The session.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions/{id}/cancel": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "post": {"summary": "Cancel (operator)", "responses": {
        "200": {"description": "The session.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions/{id}/events": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "Stored events after a seq",
        "parameters": [
          {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
        "responses": {
          "200": {"description": "Events, in seq order.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventList"}}}},
          "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions/{id}/checkpoints": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "Checkpoints", "responses": {
        "200": {"description": "Checkpoints.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckpointList"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/sessions/{id}/decisions": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "The guard's decisions on the session's commands", "responses": {
        "200": {"description": "Decisions, oldest first.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandDecisionList"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/dcg/check": {"post": {"summary": "What the guard decides on a command (nothing runs)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Check"}}}},
      "responses": {
        "200": {"description": "The decision.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyDecision"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/dcg/decisions": {"get": {"summary": "The guard's decisions on agents' commands across sessions, newest first",
      "parameters": [
        {"name": "sessionId", "in": "query", "schema": {"type": "string"}},
        {"name": "decision", "in": "query", "description": "Comma-separated verdicts.",
         "schema": {"type": "string", "pattern": "^(allow|warn|log|ask|deny)(,(allow|warn|log|ask|deny))*$"}},
        {"name": "status", "in": "query", "description": "Comma-separated statuses.",
         "schema": {"type": "string", "pattern": "^(pending|approved|denied|expired|blocked|ran|failed|refused|cancelled|delegated)(,(pending|approved|denied|expired|blocked|ran|failed|refused|cancelled|delegated))*$"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
        {"name": "cursor", "in": "query", "description": "nextCursor of the previous page.", "schema": {"type": "string", "pattern": "^-?[0-9]{1,18}:.+$"}}],
      "responses": {
        "200": {"description": "A page of decisions.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandDecisionPage"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/dcg/config": {
      "get": {"summary": "The command policy in force (admin)", "responses": {
        "200": {"description": "The policy.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyConfig"}}}},
        "default": {"$ref": "#/components/responses/Error"}}},
      "put": {"summary": "Replace the command policy (admin): kept in the data directory, applied to every command from now on",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyReplace"}}}},
        "responses": {
          "200": {"description": "The policy now in force.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyConfig"}}}},
          "default": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Drop the policy set through the API (admin): the configured one applies again",
        "parameters": [{"name": "version", "in": "query", "description": "Only if the policy is still this version.", "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "The policy now in force.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyConfig"}}}},
          "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/dcg/pending": {"get": {"summary": "Held commands, oldest first",
      "parameters": [{"name": "sessionId", "in": "query", "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "Held commands.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandDecisionList"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/dcg/pending/{id}/approve": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "post": {"summary": "Let a held command run, once (operator)", "responses": {
        "200": {"description": "Answered.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandDecision"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/dcg/pending/{id}/deny": {"parameters": [{"$ref": "#/components/parameters/id"}],
      "post": {"summary": "Refuse a held command (operator)", "responses": {
        "200": {"description": "Answered.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandDecision"}}}},
        "default": {"$ref": "#/components/responses/Error"}}}},
    "/api/ws-ticket": {"post": {"summary": "A one-time ticket for the WebSocket upgrade (/ws?ticket=…)", "responses": {
      "201": {"description": "A ticket, valid 30 s.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
      "default": {"$ref": "#/components/responses/Error"}}}}
  }
}
"""#
}
