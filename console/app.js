// The vpcep console: plain DOM, no framework. Every value from the API is rendered as text
// (textContent, createElement); nothing is ever parsed as HTML.
import { signRequest, sdkDate, queryString } from './sign.js';

const SESSION_KEY = 'vpcep-console-session';
const TRANSITIONAL = new Set(['creating', 'deleting']);
const POLL_MS = 1500;
const UUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------------------------------
// DOM helpers
// ------------------------------------------------------------------------------------------

/** An element with attributes (set as attributes, or as properties for `on*` handlers and
 * `value`/`checked`/`disabled`) and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function setText(id, text) {
  $(id).textContent = text ?? '';
}

let statusTimer = null;
/** A short message in the page's live region (read out by screen readers). */
function announce(text) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('shown', Boolean(text));
  clearTimeout(statusTimer);
  if (text) statusTimer = setTimeout(() => announce(''), 6000);
}

const STATUSES = ['available', 'creating', 'deleting', 'failed', 'pendingAcceptance', 'accepted', 'rejected'];
function badge(status) {
  const known = STATUSES.includes(status) ? status : 'other';
  return el('span', { class: `badge st-${known}` }, String(status ?? ''));
}

function when(ts) {
  return ts ? String(ts).replace('T', ' ').replace('Z', ' UTC') : '';
}

function mono(text) {
  return el('code', { class: 'id' }, String(text ?? ''));
}

function table(caption, headers, rows, emptyText) {
  if (rows.length === 0) return el('p', { class: 'empty' }, emptyText);
  return el('table', {},
    el('caption', { class: 'sr-only' }, caption),
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows));
}

function uuid() {
  return crypto.randomUUID();
}

// ------------------------------------------------------------------------------------------
// Session and API
// ------------------------------------------------------------------------------------------

let session = null;

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    return s && s.projectId ? s : null;
  } catch {
    return null;
  }
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Auth headers for one request: `X-Auth-Token`, or an SDK-HMAC-SHA256 signature over
 * `content-type`, `host` (the browser sends `Host` itself: location.host) and `x-sdk-date`. */
async function authHeaders(cred, method, target, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (cred.mode === 'token') {
    headers['X-Auth-Token'] = cred.token;
    return headers;
  }
  const date = sdkDate();
  const { authorization } = await signRequest({
    method,
    target,
    headers: [['Content-Type', headers['Content-Type']], ['Host', location.host], ['X-Sdk-Date', date]],
    body,
    accessKey: cred.accessKey,
    secretKey: cred.secretKey,
  });
  headers['X-Sdk-Date'] = date;
  headers.Authorization = authorization;
  return headers;
}

/** One API call; answers the parsed JSON (or null), or throws ApiError with the API's message. */
async function call(cred, method, path, { query = [], body } = {}) {
  const qs = queryString(query);
  const target = qs ? `${path}?${qs}` : path;
  const text = body === undefined ? undefined : JSON.stringify(body);
  let res;
  try {
    res = await fetch(target, {
      method,
      headers: await authHeaders(cred, method, target, text),
      body: text,
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError(0, '', `vpcep did not answer (${e.message}).`);
  }
  const raw = await res.text();
  let json = null;
  try {
    json = raw ? JSON.parse(raw) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const code = json?.error_code ?? json?.error?.code ?? '';
    const msg = json?.error_msg ?? json?.error?.message ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, code, msg);
  }
  return json;
}

/** A call in the signed-in project: `path` is what follows `/v1/{project_id}`. */
function api(method, path, opts) {
  return call(session, method, `/v1/${encodeURIComponent(session.projectId)}${path}`, opts);
}

function errorText(e) {
  if (!(e instanceof ApiError)) return String(e?.message ?? e);
  return e.code ? `${e.message} (${e.code})` : e.message;
}

/** Shows an error in a form's alert area; a 401 means the credential no longer works. */
function showError(id, e) {
  setText(id, errorText(e));
  if (e instanceof ApiError && e.status === 401 && session) {
    setText(id, `${errorText(e)} Sign in again.`);
  }
}

// ------------------------------------------------------------------------------------------
// Views and routing
// ------------------------------------------------------------------------------------------

const VIEWS = ['view-signin', 'view-services', 'view-service', 'view-endpoints'];
let pollTimer = null;
let currentRoute = '';

function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = null;
}

function pollIf(needed, fn) {
  stopPolling();
  if (needed) {
    const route = currentRoute;
    pollTimer = setTimeout(() => {
      if (currentRoute === route) fn({ quiet: true });
    }, POLL_MS);
  }
}

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
}

function route() {
  stopPolling();
  const hash = location.hash || '';
  session = loadSession();
  const signedIn = Boolean(session);
  $('nav').hidden = !signedIn;
  $('who').hidden = !signedIn;
  if (!signedIn) {
    currentRoute = 'signin';
    show('view-signin');
    document.title = 'Sign in · vpcep console';
    return;
  }
  setText('who-text', `${session.name ? session.name + ' · ' : ''}project ${session.projectId} · account ${session.domainId}`);
  const m = hash.match(/^#\/services\/([0-9A-Za-z-]{1,64})$/);
  for (const a of document.querySelectorAll('#nav a')) a.removeAttribute('aria-current');
  if (m) {
    currentRoute = `service:${m[1]}`;
    $('nav-services').setAttribute('aria-current', 'page');
    show('view-service');
    openService(m[1]);
  } else if (hash === '#/endpoints') {
    currentRoute = 'endpoints';
    $('nav-endpoints').setAttribute('aria-current', 'page');
    show('view-endpoints');
    document.title = 'My endpoints · vpcep console';
    loadEndpoints();
  } else {
    currentRoute = 'services';
    $('nav-services').setAttribute('aria-current', 'page');
    show('view-services');
    document.title = 'My endpoint services · vpcep console';
    loadServices();
  }
}

// ------------------------------------------------------------------------------------------
// Sign-in
// ------------------------------------------------------------------------------------------

function mode() {
  return document.querySelector('input[name=mode]:checked').value;
}

function setMode(m) {
  document.querySelector(`input[name=mode][value=${m}]`).checked = true;
  $('aksk-fields').hidden = m !== 'aksk';
  $('token-fields').hidden = m !== 'token';
}

let pastedName = '';
let pastedDomain = '';

/** Fills the sign-in fields from the JSON line `serve` or `credentials create` printed. */
function fillFromJson(text) {
  let c;
  try {
    c = JSON.parse(text.trim());
  } catch {
    return false;
  }
  if (!c || typeof c !== 'object' || (!c.access_key && !c.token)) return false;
  $('access-key').value = typeof c.access_key === 'string' ? c.access_key : '';
  $('secret-key').value = typeof c.secret_key === 'string' ? c.secret_key : '';
  $('token').value = typeof c.token === 'string' ? c.token : '';
  pastedName = typeof c.name === 'string' ? c.name : '';
  pastedDomain = typeof c.domain_id === 'string' ? c.domain_id : '';
  setMode(c.access_key && c.secret_key ? 'aksk' : 'token');
  const who = pastedName ? `"${pastedName}"` : 'the credential';
  setText('paste-msg', `Filled in from ${who}. Choose how to sign in, then press Sign in.`);
  return true;
}

async function signIn(ev) {
  ev.preventDefault();
  setText('signin-error', '');
  const m = mode();
  const cred = m === 'token'
    ? { mode: 'token', token: $('token').value.trim() }
    : { mode: 'aksk', accessKey: $('access-key').value.trim(), secretKey: $('secret-key').value.trim() };
  if (m === 'token' && !cred.token) {
    setText('signin-error', 'Enter the token.');
    $('token').focus();
    return;
  }
  if (m === 'aksk' && (!cred.accessKey || !cred.secretKey)) {
    setText('signin-error', 'Enter the access key and the secret key.');
    $(cred.accessKey ? 'secret-key' : 'access-key').focus();
    return;
  }
  try {
    // The credential's own project (and account): the IAM lookup the SDKs make.
    const r = await call(cred, 'GET', '/v3/auth/projects');
    const p = r?.projects?.[0];
    if (!p?.id) throw new Error('vpcep named no project for this credential.');
    const s = { ...cred, projectId: p.id, domainId: p.domain_id ?? pastedDomain, name: pastedName };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    $('signin-form').reset();
    setMode('aksk');
    setText('paste-msg', '');
    announce(`Signed in to project ${p.id}.`);
    if (!location.hash.startsWith('#/')) location.hash = '#/services';
    route();
    $('main').querySelector('.view:not([hidden]) h1')?.focus();
  } catch (e) {
    showError('signin-error', e);
  }
}

function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  session = null;
  announce('Signed out.');
  location.hash = '';
  route();
}

// ------------------------------------------------------------------------------------------
// Services (the owner)
// ------------------------------------------------------------------------------------------

async function toggleApproval(svc, button) {
  button.disabled = true;
  const next = !svc.approval_enabled;
  try {
    await api('PUT', `/vpc-endpoint-services/${encodeURIComponent(svc.id)}`,
      { body: { approval_enabled: next } });
    announce(`Approval is now ${next ? 'required' : 'not required'} for ${svc.service_name}.`);
  } catch (e) {
    announce(`Approval not changed: ${errorText(e)}`);
  } finally {
    button.disabled = false;
  }
  if (currentRoute === 'services') loadServices({ quiet: true });
  else openService(svc.id, { quiet: true });
}

function approvalCell(svc) {
  return el('span', { class: 'approval' },
    svc.approval_enabled ? 'required' : 'not required', ' ',
    el('button', {
      type: 'button',
      class: 'small',
      'aria-label': `${svc.approval_enabled ? 'Stop requiring' : 'Require'} approval for ${svc.service_name}`,
      onclick: (e) => toggleApproval(svc, e.currentTarget),
    }, svc.approval_enabled ? 'Turn off' : 'Turn on'));
}

async function pendingCount(svc) {
  try {
    const r = await api('GET', `/vpc-endpoint-services/${encodeURIComponent(svc.id)}/connections`,
      { query: [['status', 'pendingAcceptance'], ['limit', 0]] });
    return r?.total_count ?? 0;
  } catch {
    return null;
  }
}

async function loadServices({ quiet = false } = {}) {
  if (!quiet) setText('services-error', '');
  try {
    const r = await api('GET', '/vpc-endpoint-services', { query: [['limit', 1000]] });
    const services = r?.endpoint_services ?? [];
    const pending = await Promise.all(services.map(pendingCount));
    if (currentRoute !== 'services') return;
    const rows = services.map((s, i) => el('tr', {},
      el('td', {}, el('a', { href: `#/services/${encodeURIComponent(s.id)}` }, s.service_name)),
      el('td', {}, mono(s.id)),
      el('td', {}, badge(s.status)),
      el('td', {}, approvalCell(s)),
      el('td', { class: 'num' },
        `${s.connection_count ?? 0} connected`,
        pending[i] == null ? '' : `, ${pending[i]} pending`),
      el('td', { class: 'when' }, when(s.created_at))));
    $('services-table').replaceChildren(table('My endpoint services',
      ['Name', 'Id', 'Status', 'Approval', 'Connections', 'Created'], rows,
      'No endpoint service yet: create one below.'));
    pollIf(services.some((s) => TRANSITIONAL.has(s.status)), loadServices);
  } catch (e) {
    showError('services-error', e);
  }
}

function resetCreateServiceForm() {
  $('create-service-form').reset();
  $('cs-port-id').value = uuid();
  $('cs-vpc-id').value = uuid();
}

async function createService(ev) {
  ev.preventDefault();
  setText('create-service-error', '');
  const body = {
    port_id: $('cs-port-id').value.trim(),
    vpc_id: $('cs-vpc-id').value.trim(),
    server_type: $('cs-server-type').value,
    approval_enabled: $('cs-approval').checked,
    ports: [{
      client_port: Number($('cs-client-port').value),
      server_port: Number($('cs-server-port').value),
      protocol: $('cs-protocol').value,
    }],
  };
  const name = $('cs-name').value.trim();
  if (name) body.service_name = name;
  const description = $('cs-description').value;
  if (description) body.description = description;
  try {
    const s = await api('POST', '/vpc-endpoint-services', { body });
    resetCreateServiceForm();
    announce(`Created ${s?.service_name ?? 'the service'} (${s?.id ?? ''}).`);
    loadServices({ quiet: true });
  } catch (e) {
    showError('create-service-error', e);
  }
}

// ------------------------------------------------------------------------------------------
// One service: its summary, connections and whitelist
// ------------------------------------------------------------------------------------------

let service = null; // the service shown
let connections = []; // as last listed
const edits = new Map(); // connection id -> the description typed and not saved yet

function serviceId() {
  return currentRoute.startsWith('service:') ? currentRoute.slice('service:'.length) : '';
}

async function openService(id, { quiet = false } = {}) {
  if (!quiet) {
    service = null;
    edits.clear();
    setText('service-error', '');
    setText('conn-form-error', '');
    setText('service-title', 'Endpoint service');
    $('service-summary').replaceChildren();
    $('conn-table').replaceChildren();
    $('whitelist-table').replaceChildren();
  }
  try {
    const s = await api('GET', `/vpc-endpoint-services/${encodeURIComponent(id)}`);
    if (serviceId() !== id) return;
    service = s;
    setText('service-title', s.service_name);
    document.title = `${s.service_name} · vpcep console`;
    const item = (term, ...value) => [el('dt', {}, term), el('dd', {}, ...value)];
    $('service-summary').replaceChildren(
      ...item('Id', mono(s.id)),
      ...item('Status', badge(s.status)),
      ...item('Approval', approvalCell(s)),
      ...item('Ports', (s.ports ?? []).map((p) => `${p.client_port} → ${p.server_port} ${p.protocol ?? ''}`).join(', ')),
      ...item('Created', when(s.created_at)));
    await Promise.all([loadConnections({ quiet }), loadWhitelist()]);
  } catch (e) {
    showError('service-error', e);
  }
}

function dirtyIds() {
  const original = new Map(connections.map((c) => [c.id, c.description ?? '']));
  return [...edits.keys()].filter((id) => original.has(id) && edits.get(id) !== original.get(id));
}

function updateDirty() {
  const n = dirtyIds().length;
  setText('conn-dirty', n === 0 ? 'No unsaved change.' : `${n} unsaved change${n === 1 ? '' : 's'}.`);
}

async function decide(c, action, button) {
  button.disabled = true;
  try {
    await api('POST', `/vpc-endpoint-services/${encodeURIComponent(service.id)}/connections/action`,
      { body: { action, endpoints: [c.id] } });
    announce(`${action === 'receive' ? 'Accepted' : 'Rejected'} the connection of endpoint ${c.id}.`);
  } catch (e) {
    setText('conn-form-error', `Endpoint ${c.id}: ${errorText(e)}`);
  }
  await loadConnections({ quiet: true });
  $(`desc-${c.id}`)?.closest('tr')?.querySelector('button')?.focus();
}

function connectionRow(c) {
  const inputId = `desc-${c.id}`;
  const errorId = `desc-error-${c.id}`;
  const value = edits.has(c.id) ? edits.get(c.id) : (c.description ?? '');
  const input = el('input', {
    id: inputId,
    type: 'text',
    class: 'desc',
    value,
    'data-id': c.id,
    'aria-describedby': errorId,
    oninput: (e) => {
      edits.set(c.id, e.currentTarget.value);
      e.currentTarget.classList.toggle('dirty', e.currentTarget.value !== (c.description ?? ''));
      updateDirty();
    },
  });
  if (value !== (c.description ?? '')) input.classList.add('dirty');
  const actions = [];
  if (c.status === 'pendingAcceptance' || c.status === 'rejected') {
    actions.push(el('button', {
      type: 'button', class: 'small', 'aria-label': `Accept endpoint ${c.id}`,
      onclick: (e) => decide(c, 'receive', e.currentTarget),
    }, 'Accept'));
  }
  if (c.status === 'pendingAcceptance' || c.status === 'accepted') {
    actions.push(el('button', {
      type: 'button', class: 'small danger', 'aria-label': `Reject endpoint ${c.id}`,
      onclick: (e) => decide(c, 'reject', e.currentTarget),
    }, 'Reject'));
  }
  const errors = (c.error ?? []).map((x) => `${x.error_code ?? ''} ${x.error_message ?? ''}`.trim());
  return el('tr', { 'data-id': c.id },
    el('td', {}, mono(c.id)),
    el('td', { class: 'num' }, String(c.marker_id ?? '')),
    el('td', {}, badge(c.status), errors.length ? el('div', { class: 'hint' }, errors.join('; ')) : null),
    el('td', {}, mono(c.domain_id)),
    el('td', { class: 'when' }, when(c.created_at)),
    el('td', { class: 'when' }, when(c.updated_at)),
    el('td', { class: 'desc-cell' },
      el('label', { for: inputId, class: 'sr-only' }, `Connection description of endpoint ${c.id}`),
      input,
      el('p', { id: errorId, class: 'field-error', role: 'alert' })),
    el('td', { class: 'actions' }, actions));
}

async function loadConnections({ quiet = false } = {}) {
  const id = serviceId();
  if (!id) return;
  if (!quiet) setText('conn-form-error', '');
  try {
    const status = $('conn-filter').value;
    const query = [['limit', 1000]];
    if (status) query.push(['status', status]);
    const r = await api('GET', `/vpc-endpoint-services/${encodeURIComponent(id)}/connections`, { query });
    if (serviceId() !== id) return;
    connections = r?.connections ?? [];
    const rows = connections.map(connectionRow);
    const empty = status
      ? `No connection is ${status}.`
      : 'No connection yet: a consumer connects by creating an endpoint to this service\'s id.';
    $('conn-table').replaceChildren(table('Connections',
      ['Endpoint', 'Marker id', 'Status', 'Consumer account', 'Created', 'Updated', 'Connection description', 'Decision'],
      rows, empty));
    $('conn-save').hidden = connections.length === 0;
    updateDirty();
    pollIf(connections.some((c) => TRANSITIONAL.has(c.status)), loadConnections);
  } catch (e) {
    showError('conn-form-error', e);
  }
}

/** The connection an error of the seed request is about: `connections[i]` names the i-th item
 * sent; EndPoint.2013 names the id (`id: <uuid>.`). Null when the message names none. */
function errorTarget(message, sent) {
  const m = /connections\[(\d+)\]/.exec(message);
  if (m && sent[Number(m[1])]) return sent[Number(m[1])].id;
  const ids = new Set(sent.map((c) => c.id.toLowerCase()));
  for (const u of message.match(UUID) ?? []) {
    if (ids.has(u.toLowerCase())) return u.toLowerCase();
  }
  return null;
}

function clearFieldErrors() {
  for (const p of $('conn-table').querySelectorAll('.field-error')) p.textContent = '';
  for (const i of $('conn-table').querySelectorAll('input.desc')) i.removeAttribute('aria-invalid');
}

async function saveDescriptions(ev) {
  ev.preventDefault();
  setText('conn-form-error', '');
  clearFieldErrors();
  const ids = dirtyIds();
  if (ids.length === 0) {
    announce('Nothing to save: no description was changed.');
    return;
  }
  const sent = ids.map((id) => ({ id, description: edits.get(id) }));
  $('conn-save').disabled = true;
  try {
    // The seed operation: every listed connection or none (docs/api.md §1).
    const r = await api('PUT', `/vpc-endpoint-services/${encodeURIComponent(service.id)}/connections/description`,
      { body: { connections: sent } });
    for (const id of ids) edits.delete(id);
    const n = r?.connections?.length ?? sent.length;
    announce(`Saved ${n} connection description${n === 1 ? '' : 's'}.`);
    await loadConnections({ quiet: true });
  } catch (e) {
    const target = e instanceof ApiError ? errorTarget(e.message, sent) : null;
    const input = target && $(`desc-${target}`);
    if (input) {
      $(`desc-error-${target}`).textContent = errorText(e);
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      setText('conn-form-error', 'Nothing was saved: correct the description marked below.');
    } else {
      setText('conn-form-error', `Nothing was saved: ${errorText(e)}`);
    }
  } finally {
    $('conn-save').disabled = false;
  }
}

async function loadWhitelist() {
  const id = serviceId();
  try {
    const r = await api('GET', `/vpc-endpoint-services/${encodeURIComponent(id)}/permissions`,
      { query: [['limit', 500]] });
    if (serviceId() !== id) return;
    const rows = (r?.permissions ?? []).map((p) => el('tr', {},
      el('td', {}, mono(p.permission)),
      el('td', {}, p.description ?? ''),
      el('td', { class: 'when' }, when(p.created_at)),
      el('td', { class: 'actions' }, el('button', {
        type: 'button', class: 'small danger', 'aria-label': `Remove ${p.permission} from the whitelist`,
        onclick: () => removePermission(p),
      }, 'Remove'))));
    $('whitelist-table').replaceChildren(table('Whitelist', ['Entry', 'Description', 'Added', 'Remove'], rows,
      'The whitelist is empty: only your own account may connect.'));
  } catch (e) {
    showError('whitelist-error', e);
  }
}

async function addPermission(ev) {
  ev.preventDefault();
  setText('wl-form-error', '');
  const permission = $('wl-permission').value.trim();
  if (!permission) {
    setText('wl-form-error', 'Enter an entry, such as iam:domain::ACCOUNT_ID or *.');
    $('wl-permission').focus();
    return;
  }
  try {
    await api('POST', `/vpc-endpoint-services/${encodeURIComponent(service.id)}/permissions/batch-create`,
      { body: { permissions: [{ permission, description: $('wl-description').value }] } });
    $('whitelist-form').reset();
    announce(`Added ${permission} to the whitelist.`);
    loadWhitelist();
  } catch (e) {
    showError('wl-form-error', e);
  }
}

async function removePermission(p) {
  setText('whitelist-error', '');
  try {
    await api('POST', `/vpc-endpoint-services/${encodeURIComponent(service.id)}/permissions/batch-delete`,
      { body: { permissions: [{ id: p.id }] } });
    announce(`Removed ${p.permission} from the whitelist.`);
    await loadWhitelist();
    $('wl-permission').focus();
  } catch (e) {
    showError('whitelist-error', e);
  }
}

// ------------------------------------------------------------------------------------------
// Endpoints (the consumer)
// ------------------------------------------------------------------------------------------

async function deleteEndpoint(ep, button) {
  if (!window.confirm(`Delete endpoint ${ep.id}? Its connection to ${ep.endpoint_service_name} ends.`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/vpc-endpoints/${encodeURIComponent(ep.id)}`);
    announce(`Deleting endpoint ${ep.id}.`);
  } catch (e) {
    setText('endpoints-error', `Endpoint ${ep.id}: ${errorText(e)}`);
    button.disabled = false;
  }
  loadEndpoints({ quiet: true });
}

async function loadEndpoints({ quiet = false } = {}) {
  if (!quiet) setText('endpoints-error', '');
  try {
    const r = await api('GET', '/vpc-endpoints', { query: [['limit', 1000]] });
    if (currentRoute !== 'endpoints') return;
    const endpoints = r?.endpoints ?? [];
    const rows = endpoints.map((ep) => el('tr', { 'data-id': ep.id },
      el('td', {}, mono(ep.id)),
      el('td', {}, ep.endpoint_service_name ?? '', el('div', {}, mono(ep.endpoint_service_id))),
      el('td', {}, badge(ep.status)),
      el('td', {}, ep.ip ?? ''),
      el('td', {}, ep.description ?? ''),
      el('td', { class: 'when' }, when(ep.created_at)),
      el('td', { class: 'actions' }, ep.status === 'deleting' ? '' : el('button', {
        type: 'button', class: 'small danger', 'aria-label': `Delete endpoint ${ep.id}`,
        disabled: ep.status === 'creating',
        onclick: (e) => deleteEndpoint(ep, e.currentTarget),
      }, 'Delete'))));
    $('endpoints-table').replaceChildren(table('My endpoints',
      ['Endpoint', 'Service', 'Status', 'Address', 'Description', 'Created', 'Delete'], rows,
      'No endpoint yet: connect to a service below.'));
    pollIf(endpoints.some((ep) => TRANSITIONAL.has(ep.status)), loadEndpoints);
  } catch (e) {
    showError('endpoints-error', e);
  }
}

function resetCreateEndpointForm() {
  $('create-endpoint-form').reset();
  $('ce-vpc-id').value = uuid();
  $('ce-subnet-id').value = uuid();
}

async function createEndpoint(ev) {
  ev.preventDefault();
  setText('create-endpoint-error', '');
  const serviceIdText = $('ce-service-id').value.trim();
  if (!serviceIdText) {
    setText('create-endpoint-error', 'Enter the id of the endpoint service to connect to.');
    $('ce-service-id').focus();
    return;
  }
  const body = {
    endpoint_service_id: serviceIdText,
    vpc_id: $('ce-vpc-id').value.trim(),
    subnet_id: $('ce-subnet-id').value.trim(),
  };
  const description = $('ce-description').value;
  if (description) body.description = description;
  try {
    const ep = await api('POST', '/vpc-endpoints', { body });
    resetCreateEndpointForm();
    announce(`Created endpoint ${ep?.id ?? ''}: ${ep?.status ?? ''}.`);
    loadEndpoints({ quiet: true });
  } catch (e) {
    showError('create-endpoint-error', e);
  }
}

// ------------------------------------------------------------------------------------------
// Start
// ------------------------------------------------------------------------------------------

function start() {
  $('signin-form').addEventListener('submit', signIn);
  for (const r of document.querySelectorAll('input[name=mode]')) {
    r.addEventListener('change', () => setMode(mode()));
  }
  $('paste').addEventListener('input', (e) => {
    if (fillFromJson(e.currentTarget.value)) e.currentTarget.value = '';
    else if (e.currentTarget.value.trim()) setText('paste-msg', 'That is not the JSON line of a credential (yet).');
    else setText('paste-msg', '');
  });
  // The whole line pasted into a key or token field fills the form too.
  for (const id of ['access-key', 'secret-key', 'token']) {
    $(id).addEventListener('input', (e) => {
      if (e.currentTarget.value.trim().startsWith('{')) fillFromJson(e.currentTarget.value);
    });
  }
  $('sign-out').addEventListener('click', signOut);
  $('services-refresh').addEventListener('click', () => loadServices());
  $('create-service-form').addEventListener('submit', createService);
  $('conn-filter').addEventListener('change', () => loadConnections());
  $('conn-refresh').addEventListener('click', () => loadConnections());
  $('conn-form').addEventListener('submit', saveDescriptions);
  $('whitelist-form').addEventListener('submit', addPermission);
  $('endpoints-refresh').addEventListener('click', () => loadEndpoints());
  $('create-endpoint-form').addEventListener('submit', createEndpoint);
  for (const h of document.querySelectorAll('.view h1')) h.setAttribute('tabindex', '-1');
  resetCreateServiceForm();
  resetCreateEndpointForm();
  window.addEventListener('hashchange', () => {
    route();
    $('main').querySelector('.view:not([hidden]) h1')?.focus();
  });
  route();
}

start();
