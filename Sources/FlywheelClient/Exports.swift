// The JSON value type the client's models carry, shared with the host.
@_exported import FlywheelJSON
