/// The dashboard's stylesheet: plain CSS, readable contrast, visible focus, and a layout that fits
/// a laptop screen.
enum DashboardStyle {
    static let source = #"""
:root { --ink: #1b1f24; --muted: #4b5563; --line: #d0d7de; --paper: #ffffff; --band: #f3f5f7; --accent: #0b5cad;
        --ok: #17663a; --warn: #8a5300; --bad: #a4161a; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; color: var(--ink); background: var(--paper); line-height: 1.45; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: var(--paper); padding: 4px 8px; z-index: 1; }
header { display: flex; gap: 1.5rem; align-items: center; padding: 0.6rem 1.2rem; background: var(--band); border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header nav { display: flex; gap: 1rem; }
header nav a[aria-current="page"] { font-weight: 700; text-decoration: none; color: var(--ink); }
#who { margin-left: auto; color: var(--muted); }
main { padding: 1rem 1.2rem 3rem; max-width: 1200px; }
h1 { font-size: 1.5rem; margin: 0.2rem 0 0.6rem; }
h2 { font-size: 1.15rem; margin: 1.4rem 0 0.5rem; }
#status { min-height: 1.4em; color: var(--muted); margin: 0 0 0.5rem; }
#status.error { color: var(--bad); font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--band); }
form { display: grid; gap: 0.5rem; max-width: 38rem; margin: 0.6rem 0 1rem; padding: 0.8rem; border: 1px solid var(--line); border-radius: 6px; }
label { display: grid; gap: 0.2rem; font-weight: 600; }
input, select, textarea { font: inherit; padding: 0.35rem 0.5rem; border: 1px solid #8c959f; border-radius: 4px; color: var(--ink); background: var(--paper); }
textarea { min-height: 5rem; font-family: ui-monospace, monospace; }
button { font: inherit; padding: 0.35rem 0.9rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: var(--paper); color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
.row { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
.state { display: inline-block; padding: 0 0.45rem; border-radius: 3px; border: 1px solid var(--line); font-weight: 600; }
.state-done { color: var(--ok); } .state-failed, .state-cancelled { color: var(--bad); } .state-running { color: var(--accent); }
.counts { display: flex; gap: 1.2rem; flex-wrap: wrap; margin: 0; }
.counts div { padding: 0.4rem 0.8rem; border: 1px solid var(--line); border-radius: 6px; }
.counts dt { color: var(--muted); } .counts dd { margin: 0; font-size: 1.3rem; font-weight: 700; }
#events { list-style: none; padding: 0; margin: 0; font-family: ui-monospace, monospace; font-size: 0.88rem; }
#events li { padding: 0.25rem 0.4rem; border-bottom: 1px solid var(--band); white-space: pre-wrap; word-break: break-word; }
#events .seq { color: var(--muted); margin-right: 0.6rem; }
#events .deny, #events .ask { color: var(--bad); } #events .allow { color: var(--ok); }
.key { font-family: ui-monospace, monospace; background: var(--band); padding: 0.3rem 0.5rem; border: 1px solid var(--line); }
@media (max-width: 700px) { header { flex-wrap: wrap; } }
"""#
}
