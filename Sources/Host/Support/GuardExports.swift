// The command guard is a module of its own (it is pure, and the hook executable links only it);
// the host's users see its types through the host.
@_exported import Guard
