/// The dashboard's one ES module: signs in, fills the page it is loaded on from `/api`, and keeps
/// it live over `/ws`. Hand-written, no framework, no build step.
enum DashboardScript {
    static let source = #"""
// Flywheel dashboard. Every datum comes from /api with an access token kept in memory only; the
// refresh token is an HttpOnly cookie of /ui/session, which this script cannot read.
const main = document.getElementById('main');
const page = main.dataset.page;
const content = document.getElementById('content');
const statusLine = document.getElementById('status');
const RANK = { viewer: 0, operator: 1, admin: 2 };
const STATES = ['created', 'queued', 'running', 'paused', 'done', 'failed', 'cancelled'];
let auth = null;

class ApiError extends Error {
  constructor(error) { super(error.message || error.code); this.code = error.code; this.field = error.field; this.line = error.line; }
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function say(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

function failed(error) {
  if (error && error.message === 'signing in') return;
  say(error instanceof ApiError ? `${error.message} (${error.code})` : String(error), true);
}

const can = (role) => auth !== null && RANK[auth.user.role] >= RANK[role];

async function dashboardSession(path, method, body) {
  return fetch('/ui/session' + path, {
    method, credentials: 'same-origin',
    headers: { 'X-Flywheel-Dashboard': '1', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

function signedIn(data) {
  auth = { token: data.token, expiresAt: Date.now() + data.expiresIn * 1000, user: data.user };
  document.getElementById('who').textContent = `${data.user.email} (${data.user.role})`;
  document.getElementById('sign-out').hidden = false;
}

let renewing = null;
async function renewOnce() {
  const response = await dashboardSession('/refresh', 'POST');
  if (response.status === 200) { signedIn(await response.json()); return true; }
  if (response.status === 204 || response.status === 401) return false;  // not signed in, or the sign-in ended
  const body = await response.json().catch(() => ({}));
  throw new ApiError(body.error || { code: 'HTTP_' + response.status, message: 'cannot renew the sign-in now' });
}

async function renew() {
  // One renewal at a time, across this browser's tabs too: the cookie's refresh token may be used
  // once, and the browser sends each request the newest cookie.
  renewing = renewing || (navigator.locks ? navigator.locks.request('flywheel-refresh', renewOnce) : renewOnce())
    .finally(() => { renewing = null; });
  return renewing;
}

function toSignIn() {
  location.assign('/ui/login?next=' + encodeURIComponent(location.pathname));
  throw new Error('signing in');
}

async function api(method, path, body) {
  if (auth === null || auth.expiresAt - Date.now() < 30000) { if (!(await renew())) toSignIn(); }
  const send = () => fetch(path, {
    method,
    headers: { authorization: 'Bearer ' + auth.token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  let response = await send();
  if (response.status === 401) {
    if (!(await renew())) toSignIn();
    response = await send();
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.error || { code: 'HTTP_' + response.status, message: response.statusText });
  return data;
}

// One socket for the page; each channel resumes from its last seq after a reconnect.
// The fleet channel carries only what happens from now on: its followers read the whole state again
// (`resync`) whenever it may have missed something (a reconnect, being dropped as too slow).
class Live {
  constructor() { this.channels = new Map(); this.socket = null; this.delay = 1000; this.opened = false; this.connect(); }
  async connect() {
    try {
      const { ticket } = await api('POST', '/api/ws-ticket');
      const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?ticket=' + encodeURIComponent(ticket));
      this.socket = socket;
      socket.addEventListener('open', () => {
        this.delay = 1000;
        for (const [channel, follower] of this.channels) {
          this.subscribe(channel, follower.last);
          if (this.opened && follower.resync) follower.resync();
        }
        this.opened = true;
        main.dataset.live = 'true';
        this.pinger = setInterval(() => this.send({ type: 'ping' }), 20000);
      });
      socket.addEventListener('message', (message) => this.receive(JSON.parse(message.data)));
      socket.addEventListener('close', (event) => {
        clearInterval(this.pinger);
        this.socket = null;
        // 4001: the sign-in behind the socket ended. Renew before reconnecting (or go to sign-in).
        if (event.code === 4001) auth = null;
        this.retry();
      });
    } catch (error) {
      failed(error);
      this.retry();
    }
  }
  retry() {
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 30000);
  }
  send(message) { if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message)); }
  subscribe(channel, after) { this.send(channel.startsWith('fleet') ? { type: 'subscribe', channel } : { type: 'subscribe', channel, after }); }
  follow(channel, handler, { after = 0, resync = null } = {}) {
    this.channels.set(channel, { handler, last: after, resync });
    this.subscribe(channel, after);
  }
  receive(message) {
    if (message.kind === 'error' && message.code === 'FELL_BEHIND' && this.channels.has(message.channel)) {
      const follower = this.channels.get(message.channel);
      this.subscribe(message.channel, follower.last);
      if (follower.resync) follower.resync();
      return;
    }
    if (message.kind === 'event') {
      const follower = this.channels.get(message.channel);
      if (!follower) return;
      if (!message.channel.startsWith('fleet')) {
        if (message.seq <= follower.last) return;
        follower.last = message.seq;
      }
      follower.handler(message);
    } else if (message.kind === 'error') {
      say(`${message.message} (${message.code})`, true);
    }
  }
}

function table(headings, rows, caption) {
  return el('table', {}, caption ? el('caption', { class: 'skip', text: caption }) : null,
    el('thead', {}, el('tr', {}, headings.map((heading) => el('th', { scope: 'col', text: heading })))),
    el('tbody', {}, rows));
}

function time(text) { return text ? new Date(text).toLocaleString() : '—'; }
function stateBadge(state) { return el('span', { class: `state state-${state}`, text: state }); }
function debounce(action, wait = 400) { let timer; return () => { clearTimeout(timer); timer = setTimeout(action, wait); }; }

function form(label, fields, submit, onSubmit) {
  const node = el('form', { 'aria-label': label }, fields, el('div', { class: 'row' }, el('button', { type: 'submit', text: submit })));
  node.addEventListener('submit', async (event) => {
    event.preventDefault();
    try { await onSubmit(new FormData(node), node); } catch (error) { failed(error); }
  });
  return node;
}

function field(label, name, input = {}) {
  const tag = input.tag || 'input';
  delete input.tag;
  return el('label', {}, label, tag === 'select' ? el('select', { name, required: true, ...input.attributes }, input.options)
    : el(tag, { name, ...input }));
}

function jsonField(text, what) {
  try { return JSON.parse(text || '{}'); } catch (error) { throw new ApiError({ code: 'INVALID_JSON', message: `${what} is not JSON: ${error.message}` }); }
}

// --- Pages -----------------------------------------------------------------------------------

async function loginPage() {
  const next = new URLSearchParams(location.search).get('next');
  content.append(form('Sign in', [
    field('Email', 'email', { type: 'email', autocomplete: 'username', required: true }),
    field('Password', 'password', { type: 'password', autocomplete: 'current-password', required: true }),
  ], 'Sign in', async (data) => {
    const response = await dashboardSession('', 'POST', { email: data.get('email'), password: data.get('password') });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(body.error || { code: 'HTTP_' + response.status, message: 'sign-in failed' });
    location.assign(next && next.startsWith('/ui/') && !next.startsWith('/ui/login') ? next : '/ui/fleet');
  }));
  content.querySelector('input').focus();
}

async function fleetPage(live) {
  const counts = el('dl', { class: 'counts', 'aria-label': 'Sessions by state' });
  const drivers = el('section', {}, el('h2', { text: 'Drivers' }));
  const agents = el('section', {}, el('h2', { text: 'Agents' }));
  content.append(el('section', {}, el('h2', { text: 'Sessions by state' }), counts), drivers, agents);

  async function showCounts() {
    const pages = await Promise.all(STATES.map((state) => api('GET', `/api/sessions?state=${state}&limit=200`)));
    counts.replaceChildren(...STATES.map((state, index) => el('div', { 'data-state': state }, el('dt', { text: state }),
      el('dd', { text: pages[index].sessions.length + (pages[index].nextCursor ? '+' : '') }))));
    return pages[STATES.indexOf('running')].sessions;
  }

  async function showAgents(running) {
    const [list, plugins] = await Promise.all([api('GET', '/api/agents'), api('GET', '/api/plugins')]);
    const runningBy = new Map();
    for (const session of running) runningBy.set(session.agentId, (runningBy.get(session.agentId) || 0) + 1);
    drivers.replaceChildren(el('h2', { text: 'Drivers' }), table(['Manifest', 'Driver', 'Version', 'Status', 'Reason'],
      plugins.items.map((plugin) => el('tr', {}, el('td', { text: plugin.manifest }), el('td', { text: plugin.driverId || '—' }),
        el('td', { text: plugin.version || '—' }), el('td', {}, stateBadge(plugin.status)), el('td', { text: plugin.reason || '' })))));
    agents.replaceChildren(el('h2', { text: 'Agents' }), table(['Name', 'Driver', 'Enabled', 'Running sessions', 'Workspace'],
      list.items.map((agent) => el('tr', { 'data-agent': agent.name }, el('td', { text: agent.name }), el('td', { text: agent.driverId }),
        el('td', { text: agent.enabled ? 'yes' : 'no' }), el('td', { text: String(runningBy.get(agent.id) || 0) }),
        el('td', { text: agent.workspace || 'default' })))));
    if (can('operator')) {
      const loaded = plugins.items.filter((plugin) => plugin.status === 'loaded').map((plugin) => plugin.driverId);
      agents.append(el('h2', { text: 'New agent' }), form('New agent', [
        field('Name', 'name', { required: true, pattern: '[A-Za-z0-9_.\\-]+', maxlength: 128 }),
        field('Driver', 'driverId', { tag: 'select', options: loaded.map((id) => el('option', { value: id, text: id })) }),
        field('Configuration (JSON)', 'config', { tag: 'textarea', text: '{}' }),
      ], 'Create agent', async (data, node) => {
        const created = await api('POST', '/api/agents', { name: data.get('name'), driverId: data.get('driverId'), config: jsonField(data.get('config'), 'the configuration') });
        say(`agent ${created.name} created`);
        node.reset();
        await refresh();
      }));
    }
  }

  const refresh = async () => showAgents(await showCounts());
  await refresh();
  const later = debounce(() => refresh().catch(failed));
  live.follow('fleet:states', later, { resync: later });
}

async function sessionsPage(live) {
  // The filters live in the address (?state=&agent=), so a reload or a shared link keeps them.
  const params = new URLSearchParams(location.search);
  const agents = (await api('GET', '/api/agents')).items;
  const agentNames = new Map(agents.map((agent) => [agent.id, agent.name]));
  const filter = el('select', { name: 'state', id: 'state-filter' }, el('option', { value: '', text: 'all' }),
    STATES.map((state) => el('option', { value: state, text: state })));
  filter.value = STATES.includes(params.get('state')) ? params.get('state') : '';
  const agentFilter = el('select', { name: 'agent', id: 'agent-filter' }, el('option', { value: '', text: 'all' }),
    agents.map((agent) => el('option', { value: agent.id, text: agent.name })));
  agentFilter.value = agentNames.has(params.get('agent')) ? params.get('agent') : '';
  const list = el('div');
  const more = el('button', { type: 'button', class: 'secondary', text: 'Next page', hidden: true });
  let cursor = null;

  async function show(append = false) {
    const query = new URLSearchParams({ limit: '50' });
    if (filter.value) query.set('state', filter.value);
    if (agentFilter.value) query.set('agentId', agentFilter.value);
    if (append && cursor) query.set('cursor', cursor);
    const result = await api('GET', '/api/sessions?' + query);
    cursor = result.nextCursor;
    more.hidden = !cursor;
    const rows = result.sessions.map((session) => el('tr', { 'data-session': session.id },
      el('td', {}, el('a', { href: `/ui/sessions/${encodeURIComponent(session.id)}`, text: session.id })),
      el('td', { text: agentNames.get(session.agentId) || session.agentId }), el('td', {}, stateBadge(session.state)),
      el('td', { text: time(session.createdAt) }), el('td', { text: session.task.split('\n')[0].slice(0, 80) })));
    if (append) {
      list.querySelector('tbody').append(...rows);
      list.dataset.extended = 'true';
    } else {
      delete list.dataset.extended;
      list.replaceChildren(rows.length ? table(['Session', 'Agent', 'State', 'Created', 'Task'], rows)
        : el('p', { class: 'empty', text: 'No sessions match.' }));
    }
  }

  function filtered() {
    const kept = new URLSearchParams();
    if (filter.value) kept.set('state', filter.value);
    if (agentFilter.value) kept.set('agent', agentFilter.value);
    history.replaceState(null, '', kept.toString() ? `?${kept}` : location.pathname);
    show().catch(failed);
  }

  filter.addEventListener('change', filtered);
  agentFilter.addEventListener('change', filtered);
  more.addEventListener('click', () => show(true).catch(failed));
  content.append(el('div', { class: 'row' }, el('label', { for: 'state-filter', text: 'State' }), filter,
    el('label', { for: 'agent-filter', text: 'Filter by agent' }), agentFilter), list, more);
  if (can('operator')) {
    content.append(el('h2', { text: 'New session' }), form('New session', [
      field('Agent', 'agentId', { tag: 'select', options: [...agentNames].map(([id, name]) => el('option', { value: id, text: name })) }),
      field('Task', 'task', { tag: 'textarea', required: true }),
    ], 'Start session', async (data) => {
      const session = await api('POST', '/api/sessions', { agentId: data.get('agentId'), task: data.get('task') });
      location.assign(`/ui/sessions/${encodeURIComponent(session.id)}`);
    }));
  }
  await show();
  // A state change redraws the first page, unless more pages were added by hand.
  const later = debounce(() => { if (!list.dataset.extended) show().catch(failed); });
  live.follow('fleet:states', later, { resync: later });
}

function describe(event) {
  const data = event.data || {};
  switch (event.type) {
    case 'message': return [`${data.role || 'agent'}: ${data.text || ''}`, ''];
    case 'thinking': return [`(thinking) ${data.text || ''}`, ''];
    case 'tool_call': return [`→ ${data.name || 'tool'} ${JSON.stringify(data.input || {})}`, ''];
    case 'tool_result': return [`← ${data.output || ''}`, data.is_error ? 'deny' : ''];
    case 'host.command.decision': return [`guard: ${data.decision} ${data.command || ''}${data.rule_id ? ' [' + data.rule_id + ']' : ''}`, data.decision];
    case 'host.command.approval': return [`approval: ${data.status} by ${data.decided_by}`, data.status === 'approved' ? 'allow' : 'deny'];
    case 'host.command.output': return [(data.text || '').replace(/\n$/, ''), ''];
    case 'host.command.exit': return [`exit ${data.exit_code ?? (data.delegated ? '(run by the driver)' : 'none')}`, ''];
    case 'host.session.state': return [`state: ${data.state}${data.error ? ' — ' + data.error : ''}`, ''];
    case 'status': return [`status: ${data.message || ''}`, ''];
    case 'completed': return [`completed: ${data.summary || ''}`, 'allow'];
    case 'failed': return [`failed: ${data.error || ''}`, 'deny'];
    case 'usage': return [`usage: ${data.input_tokens ?? 0} in, ${data.output_tokens ?? 0} out${data.cost_usd ? `, $${data.cost_usd}` : ''}`, ''];
    default: return [`${event.type} ${JSON.stringify(data).slice(0, 200)}`, ''];
  }
}

async function sessionPage(live) {
  const id = main.dataset.id;
  let session = await api('GET', `/api/sessions/${encodeURIComponent(id)}`);
  const badge = el('span');
  const controls = el('div', { class: 'row', 'aria-label': 'Session controls' });
  const pending = el('section', {}, el('h2', { text: 'Held commands' }));
  const events = el('ol', { id: 'events', 'aria-label': 'Events', 'aria-live': 'polite' });
  const checkpoints = el('section', {}, el('h2', { text: 'Checkpoints' }));
  document.querySelector('h1').textContent = `Session ${id}`;
  content.append(el('p', {}, 'State: ', badge), el('p', { text: `Task: ${session.task}` }), controls, pending,
    el('section', {}, el('h2', { text: 'Events' }), events), checkpoints);

  function showState() {
    badge.replaceChildren(stateBadge(session.state));
    controls.replaceChildren();
    if (!can('operator')) return;
    const action = (label, verb, className) => el('button', { type: 'button', class: className, text: label, onclick: async () => {
      try { session = await api('POST', `/api/sessions/${encodeURIComponent(id)}/${verb}`); showState(); say(`${verb} requested`); } catch (error) { failed(error); }
    } });
    if (session.state === 'running') controls.append(action('Pause', 'pause', 'secondary'));
    if (session.state === 'paused') controls.append(action('Resume', 'resume', 'secondary'));
    if (!['done', 'failed', 'cancelled'].includes(session.state)) controls.append(action('Cancel', 'cancel', 'danger'));
  }

  let shownHeld = null;
  async function showPending() {
    const held = (await api('GET', `/api/dcg/pending?sessionId=${encodeURIComponent(id)}`)).items;
    // Redrawn only when the held commands changed, so a button in focus keeps it.
    const key = held.map((decision) => decision.id).join(' ');
    if (key === shownHeld) return;
    shownHeld = key;
    pending.replaceChildren(el('h2', { text: 'Held commands' }), held.length === 0 ? el('p', { text: 'None.' })
      : table(['Command', 'Rule', 'Reason', ''], held.map((decision) => el('tr', { 'data-held': decision.id },
        el('td', {}, el('code', { text: decision.command })), el('td', { text: decision.ruleId || '' }), el('td', { text: decision.reason || '' }),
        el('td', {}, can('operator') ? el('div', { class: 'row' },
          el('button', { type: 'button', text: 'Approve', onclick: () => answer(decision.id, 'approve') }),
          el('button', { type: 'button', class: 'danger', text: 'Deny', onclick: () => answer(decision.id, 'deny') })) : null)))));
  }

  async function answer(decisionId, verb) {
    try { await api('POST', `/api/dcg/pending/${encodeURIComponent(decisionId)}/${verb}`); say(`command ${verb === 'approve' ? 'approved' : 'denied'}`); await showPending(); }
    catch (error) { failed(error); }
  }

  async function showCheckpoints() {
    const list = (await api('GET', `/api/sessions/${encodeURIComponent(id)}/checkpoints`)).items;
    checkpoints.replaceChildren(el('h2', { text: 'Checkpoints' }), list.length === 0 ? el('p', { text: 'None.' })
      : table(['After event', 'Size', 'Saved'], list.map((checkpoint) => el('tr', {}, el('td', { text: String(checkpoint.seq) }),
        el('td', { text: `${checkpoint.bytes} bytes` }), el('td', { text: time(checkpoint.createdAt) })))));
  }

  showState();
  await Promise.all([showPending(), showCheckpoints()]);
  const laterPending = debounce(() => showPending().catch(failed), 200);
  let streaming = null;
  live.follow('session:' + id, (event) => {
    if (event.type === 'message' && streaming && streaming.role === (event.data.role || 'agent')) {
      streaming.node.lastChild.textContent += event.data.text || '';
      return;
    }
    const [text, kind] = describe(event);
    const item = el('li', { class: kind, 'data-type': event.type }, el('span', { class: 'seq', text: String(event.seq) }), el('span', { text }));
    events.append(item);
    streaming = event.type === 'message' ? { role: event.data.role || 'agent', node: item } : null;
    if (event.type === 'host.session.state') { session.state = event.data.state; showState(); }
    if (event.type === 'host.command.decision' || event.type === 'host.command.approval') laterPending();
    if (event.type === 'host.checkpoint') showCheckpoints().catch(failed);
  });
}

async function accountsPage() {
  const list = el('div');
  async function show() {
    const accounts = (await api('GET', '/api/accounts')).items;
    list.replaceChildren(accounts.length === 0 ? el('p', { text: 'No accounts.' }) : table(['Provider', 'Label', 'Status', 'Cooldown', 'Last used', ''],
      accounts.map((account) => el('tr', { 'data-account': account.id }, el('td', { text: account.provider }), el('td', { text: account.label }),
        el('td', {}, stateBadge(account.status), account.statusReason ? ' ' + account.statusReason : ''),
        el('td', { class: 'cooldown', 'data-until': account.cooldownUntil || '' }), el('td', { text: time(account.lastUsedAt) }),
        el('td', {}, can('operator') ? [
          el('button', { type: 'button', class: 'secondary', text: 'Verify', 'aria-label': `Verify ${account.provider}/${account.label} with the provider`,
            onclick: async (click) => {
              click.target.disabled = true;
              say(`asking ${account.provider}…`);
              try {
                const found = await api('POST', `/api/accounts/${encodeURIComponent(account.id)}/verify`);
                say(`${account.provider}/${account.label}: ${found.outcome.replaceAll('_', ' ')}: ${found.message}`,
                  found.outcome !== 'verified' && found.outcome !== 'rate_limited');
                await show();
              } catch (error) { failed(error); click.target.disabled = false; }
            } }), ' ',
          el('button', { type: 'button', class: 'secondary', text: account.status === 'disabled' ? 'Enable' : 'Disable',
            onclick: async () => {
              try { await api('PATCH', `/api/accounts/${encodeURIComponent(account.id)}`, { enabled: account.status === 'disabled' }); await show(); } catch (error) { failed(error); }
            } })] : null)))));
    tick();
  }
  function tick() {
    for (const cell of list.querySelectorAll('.cooldown')) {
      const until = cell.dataset.until ? new Date(cell.dataset.until) : null;
      const left = until ? Math.max(0, Math.round((until - Date.now()) / 1000)) : 0;
      cell.textContent = left > 0 ? `${left} s left` : '—';
    }
  }
  setInterval(tick, 1000);
  content.append(list);
  if (can('operator')) {
    content.append(el('h2', { text: 'Add an account' }), form('Add an account', [
      field('Provider', 'provider', { required: true, placeholder: 'anthropic' }),
      field('Label', 'label', { required: true }),
      field('Credentials (JSON, never shown again)', 'credentials', { tag: 'textarea', required: true, placeholder: '{"api_key": "…"}' }),
    ], 'Add account', async (data, node) => {
      await api('POST', '/api/accounts', { provider: data.get('provider'), label: data.get('label'), credentials: jsonField(data.get('credentials'), 'the credentials') });
      node.reset();
      say('account added');
      await show();
    }));
  }
  await show();
}

async function settingsPage() {
  const [me, ready] = await Promise.all([api('GET', '/api/me'), fetch('/health/ready').then((response) => response.json())]);
  content.append(el('section', {}, el('h2', { text: 'Server' }), table(['', ''], [
    el('tr', {}, el('th', { scope: 'row', text: 'Signed in as' }), el('td', { text: `${me.email} (${me.role})` })),
    el('tr', {}, el('th', { scope: 'row', text: 'Drivers loaded' }), el('td', { text: String(ready.plugins ?? '—') })),
    el('tr', {}, el('th', { scope: 'row', text: 'Command sandbox' }), el('td', { text: ready.sandbox || (ready.error ? ready.error.message : '—') })),
    el('tr', {}, el('th', { scope: 'row', text: 'API' }), el('td', {}, el('a', { href: '/openapi.json', text: 'OpenAPI document' }))),
  ])));
  const keys = el('section');
  async function showKeys() {
    const list = (await api('GET', '/api/api-keys')).items;
    keys.replaceChildren(el('h2', { text: 'Your API keys' }), list.length === 0 ? el('p', { text: 'None.' }) : table(['Name', 'Starts with', 'Created', 'Revoked', ''],
      list.map((key) => el('tr', {}, el('td', { text: key.name }), el('td', {}, el('code', { text: key.prefix })), el('td', { text: time(key.createdAt) }),
        el('td', { text: time(key.revokedAt) }), el('td', {}, key.revokedAt ? null : el('button', { type: 'button', class: 'danger', text: 'Revoke',
          onclick: async () => { try { await api('DELETE', `/api/api-keys/${encodeURIComponent(key.id)}`); await showKeys(); } catch (error) { failed(error); } } }))))),
    form('New API key', [field('Name', 'name', { required: true })], 'Create key', async (data) => {
      const created = await api('POST', '/api/api-keys', { name: data.get('name') });
      await showKeys();
      keys.append(el('p', {}, 'The key, shown this once: ', el('span', { class: 'key', text: created.key })));
    }));
  }
  content.append(keys);
  await showKeys();
  if (!can('admin')) return;
  const policy = el('section');
  async function showPolicy() {
    const config = await api('GET', '/api/dcg/config');
    policy.replaceChildren(el('h2', { text: 'Command guard policy' }),
      el('p', { text: `Source: ${config.source}. Packs on: ${(config.enabledPacks || []).join(', ')}` }),
      form('Command guard policy', [field('Policy (TOML)', 'toml', { tag: 'textarea', text: config.toml || '' })], 'Save policy', async (data) => {
        try {
          await api('PUT', '/api/dcg/config', { toml: data.get('toml'), version: config.version });
          say('policy saved');
          await showPolicy();
        } catch (error) {
          if (error.line) error.message += ` (line ${error.line})`;
          throw error;
        }
      }));
  }
  const users = el('section');
  async function showUsers() {
    const list = (await api('GET', '/api/users')).items;
    users.replaceChildren(el('h2', { text: 'Users' }), table(['Email', 'Role', 'Created'], list.map((user) => el('tr', {},
      el('td', { text: user.email }), el('td', { text: user.role }), el('td', { text: time(user.createdAt) })))),
    form('New user', [
      field('Email', 'email', { type: 'email', required: true }),
      field('Password', 'password', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' }),
      field('Role', 'role', { tag: 'select', options: ['viewer', 'operator', 'admin'].map((role) => el('option', { value: role, text: role })) }),
    ], 'Create user', async (data, node) => {
      await api('POST', '/api/users', { email: data.get('email'), password: data.get('password'), role: data.get('role') });
      node.reset();
      say('user created');
      await showUsers();
    }));
  }
  content.append(policy, users);
  await Promise.all([showPolicy(), showUsers()]);
}

async function start() {
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === page || (page === 'session' && link.dataset.nav === 'sessions')) link.setAttribute('aria-current', 'page');
  }
  document.getElementById('sign-out').addEventListener('click', async () => {
    await dashboardSession('', 'DELETE');
    location.assign('/ui/login');
  });
  if (page === 'login') return loginPage();
  if (!(await renew())) toSignIn();
  const live = new Live();
  const pages = { fleet: fleetPage, sessions: sessionsPage, session: sessionPage, accounts: accountsPage, settings: settingsPage };
  await pages[page](live);
  main.dataset.ready = 'true';
}

start().catch(failed);
"""#
}
