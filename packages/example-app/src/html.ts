/** HTML-escapes text for element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** A hidden CSRF field for a state-changing form. */
export function csrfField(token: string): string {
  return `<input type="hidden" name="csrf" value="${esc(token)}">`;
}

/** An ISO-ish UTC timestamp for the tables. */
export function when(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f6f3;color:#1d1d1b}
header{background:#24323f;color:#fff;padding:.7rem 1.2rem;display:flex;gap:1rem;align-items:center}
header a{color:#cfe3f5}header .who{margin-left:auto}
main{max-width:56rem;margin:1.5rem auto;padding:0 1.2rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}
.current{background:#eef7ee}.tag{font-size:.8em;background:#2e7d32;color:#fff;padding:.1em .4em;border-radius:.3em}
form.inline{display:inline}button{cursor:pointer}
.notice{background:#fff8d6;border:1px solid #e6d580;padding:.5rem .8rem}
.error{background:#fde8e8;border:1px solid #e0a0a0;padding:.5rem .8rem}
.ok{color:#2e7d32;font-weight:600}.bad{color:#b71c1c;font-weight:600}
code{font-size:.9em}#log{background:#fff;border:1px solid #ddd;padding:.5rem;max-height:16rem;overflow:auto}
footer{color:#777;font-size:.85em;margin:2rem auto;max-width:56rem;padding:0 1.2rem}
`;

/** What the layout needs to know about the signed-in user. */
export interface LayoutUser {
  readonly username: string;
  readonly adminMode: boolean;
  readonly csrf: string;
}

/** The page shell: header with navigation and sign-out, then `body`. */
export function layout(
  title: string,
  body: string,
  user: LayoutUser | undefined,
  footer: string,
): string {
  const nav =
    user === undefined
      ? ''
      : `<a href="/sessions">Your sessions</a> <a href="/admin">Admin</a>
<span class="who">Signed in as <b id="who">${esc(user.username)}</b>${user.adminMode ? ' <span class="tag">admin mode</span>' : ''}</span>
<form class="inline" method="post" action="/signout">${csrfField(user.csrf)}<button id="signout">Sign out</button></form>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Cloakroom example</title><style>${STYLE}</style></head>
<body><header><b>Cloakroom example</b>${nav}</header>
<main><h1>${esc(title)}</h1>
${body}
</main><footer>${footer}</footer></body></html>`;
}
