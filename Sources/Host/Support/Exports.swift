// The JSON value type of driver payloads and the API, shared with API clients.
@_exported import FlywheelJSON
