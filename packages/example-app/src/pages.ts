import type { KeySetStatus, KeyStatus, SessionInfo } from '@cloakroom/core';
import { type LayoutUser, csrfField, esc, layout, when } from './html';
import type { JobEvent, RewrapJob } from './rewrap-job';

/** The sign-in form. */
export function signInPage(footer: string, hint: string, error?: string): string {
  return layout(
    'Sign in',
    `${error === undefined ? '' : `<p class="error" id="error">${esc(error)}</p>`}
<form method="post" action="/signin" id="signin">
<p><label>Username <input name="username" id="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label></p>
<p><button id="submit">Sign in</button></p>
</form>
<p class="notice">Demo accounts: <code>alice</code>, <code>bob</code> and <code>admin</code>. ${esc(hint)}</p>`,
    undefined,
    footer,
  );
}

/** "Your sessions": one row per live session, the current one marked. */
export function sessionsPage(
  user: LayoutUser,
  sessions: readonly SessionInfo[],
  currentId: string,
  footer: string,
  notice?: string,
): string {
  const rows = sessions
    .map((s) => {
      const current = s.sessionId === currentId;
      return `<tr class="session${current ? ' current' : ''}" data-session="${esc(s.sessionId)}">
<td class="device">${esc(s.label ?? 'Unknown device')}${current ? ' <span class="tag" id="this-device">this device</span>' : ''}</td>
<td>${esc(when(s.createdAt))}</td><td>${esc(when(s.lastSeenAt))}</td>
<td><form class="inline" method="post" action="/sessions/revoke">${csrfField(user.csrf)}
<input type="hidden" name="session" value="${esc(s.sessionId)}"><button class="revoke">${current ? 'Sign out' : 'Sign out this device'}</button></form></td></tr>`;
    })
    .join('\n');
  return layout(
    'Your sessions',
    `${notice === undefined ? '' : `<p class="notice" id="notice">${esc(notice)}</p>`}
<p>Every device signed in as <b>${esc(user.username)}</b>. The browser holds only an opaque ticket in an HttpOnly cookie; the JWT stays sealed on the server.</p>
<table id="sessions"><thead><tr><th>Device</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>
<form method="post" action="/sessions/revoke-others">${csrfField(user.csrf)}<p><button id="revoke-others">Sign out all other devices</button></p></form>`,
    user,
    footer,
  );
}

/** A short message page: 403 for the admin view to non-admins, errors, 404. */
export function messagePage(
  title: string,
  text: string,
  user: LayoutUser | undefined,
  footer: string,
): string {
  return layout(title, `<p class="error" id="message">${esc(text)}</p>`, user, footer);
}

/** Shown to an admin before entering admin mode: re-enter the password. */
export function enterAdminPage(user: LayoutUser, footer: string, error?: string): string {
  return layout(
    'Enter admin mode',
    `${error === undefined ? '' : `<p class="error" id="error">${esc(error)}</p>`}
<p>Admin mode is a privilege change: entering it issues a new ticket (the old one stops working).</p>
<form method="post" action="/admin/enter" id="enter-admin">${csrfField(user.csrf)}
<p><label>Password <input name="password" id="admin-password" type="password" autocomplete="current-password" required></label></p>
<p><button id="enter">Enter admin mode</button></p></form>`,
    user,
    footer,
  );
}

/** Table rows of a key list (ids, states, times; never key material). */
export function keyRows(keys: readonly KeyStatus[]): string {
  return keys
    .map(
      (
        k,
      ) => `<tr class="key ${esc(k.kind)} ${esc(k.state)}"><td><code>${esc(k.id)}</code></td><td class="state">${esc(k.state)}</td>
<td>${esc(when(k.createdAt))}</td><td>${esc(when(k.activatesAt))}</td><td>${k.seals === undefined ? '' : esc(k.seals)}</td></tr>`,
    )
    .join('\n');
}

/** Renders a job's events as log lines (server side, and the same text the live script writes). */
export function eventLine(e: JobEvent): string {
  const t = new Date(e.at).toISOString().slice(11, 23);
  switch (e.type) {
    case 'phase':
      return `${t} ${e.text}`;
    case 'progress':
      return `${t} scanned ${e.scanned} · rewrapped ${e.rewrapped} · already current ${e.current} · unreadable ${e.unreadable} · contended ${e.contended}`;
    case 'done':
      return `${t} done: ${e.report.complete ? 'complete' : 'stopped'}, ${e.report.scanned} records scanned`;
    case 'failed':
      return `${t} failed (${e.code})`;
  }
}

/** The final per-key report of a finished rewrap. */
export function reportHtml(e: Extract<JobEvent, { type: 'done' }>): string {
  const rows = Object.entries(e.report.byKeyId)
    .map(
      ([id, n]) =>
        `<tr class="report-key"><td><code>${esc(id)}</code></td><td>${id === e.report.primaryKeyId ? 'primary' : 'older key'}</td><td class="count">${esc(n)}</td></tr>`,
    )
    .join('');
  const total = Object.values(e.report.byKeyId).reduce((a, b) => a + b, 0);
  const verdict = e.allUnderPrimary
    ? `<p class="ok" id="verdict">All ${total} records are under the primary storage key <code>${esc(e.report.primaryKeyId)}</code>.</p>`
    : `<p class="bad" id="verdict">Not every record is under the primary key (unreadable ${e.report.unreadable}, contended ${e.report.contended}): run rewrap again.</p>`;
  return `${verdict}<table id="report-table"><thead><tr><th>Storage key</th><th></th><th>Records</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The admin view: key status, rotation buttons, rewrap with live progress. */
export function adminPage(
  user: LayoutUser,
  status: KeySetStatus,
  job: RewrapJob | undefined,
  nonce: string,
  footer: string,
): string {
  const head =
    '<thead><tr><th>Id</th><th>State</th><th>Created</th><th>Active from</th><th>Seals</th></tr></thead>';
  const done = job?.events.find((e) => e.type === 'done');
  const log = (job?.events ?? [])
    .map((e) => `<div class="line">${esc(eventLine(e))}</div>`)
    .join('');
  return layout(
    'Admin',
    `<p>Operator actions are allowed only to the <code>admin</code> role, in admin mode, from an allowed address (rolePolicy + ipAllowlist).</p>
<h2>Signing keys</h2><table id="signing-keys">${head}<tbody id="signing-rows">${keyRows(status.signing)}</tbody></table>
<form class="inline" method="post" action="/admin/rotate">${csrfField(user.csrf)}<input type="hidden" name="kind" value="signing"><button id="rotate-signing">Rotate signing key</button></form>
<h2>Storage keys</h2><table id="storage-keys">${head}<tbody id="storage-rows">${keyRows(status.storage)}</tbody></table>
<form class="inline" method="post" action="/admin/rotate">${csrfField(user.csrf)}<input type="hidden" name="kind" value="storage"><button id="rotate-storage">Rotate storage key</button></form>
<h2>Rewrap</h2>
<p>Re-seals every stored session under the primary storage key, a page at a time, with compare-and-swap.</p>
<form method="post" action="/admin/rewrap">${csrfField(user.csrf)}<button id="rewrap">Run rewrap</button></form>
<p id="job-state">${job === undefined ? 'No rewrap has run yet.' : job.finished ? `Rewrap #${job.id} finished.` : `Rewrap #${job.id} running…`}</p>
<div id="log">${log}</div>
<div id="report">${done?.type === 'done' ? reportHtml(done) : ''}</div>
<form method="post" action="/admin/leave">${csrfField(user.csrf)}<p><button id="leave-admin">Leave admin mode</button></p></form>
${job !== undefined && !job.finished ? liveScript(nonce) : ''}`,
    user,
    footer,
  );
}

// Follows the running job over Server-Sent Events: a log line per event,
// then the report and key tables the server rendered (no markup built from data here).
function liveScript(nonce: string): string {
  return `<script nonce="${esc(nonce)}">
(() => {
  const log = document.getElementById('log');
  const state = document.getElementById('job-state');
  log.textContent = '';
  const source = new EventSource('/admin/rewrap/events');
  source.addEventListener('line', (m) => {
    const div = document.createElement('div');
    div.className = 'line';
    div.textContent = JSON.parse(m.data);
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener('end', (m) => {
    source.close();
    const end = JSON.parse(m.data);
    state.textContent = end.state;
    document.getElementById('report').innerHTML = end.report;
    document.getElementById('signing-rows').innerHTML = end.signing;
    document.getElementById('storage-rows').innerHTML = end.storage;
  });
  source.onerror = () => { source.close(); state.textContent = 'Lost the progress stream; reload to see the result.'; };
})();
</script>`;
}
