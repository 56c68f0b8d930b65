import { createHash } from 'node:crypto';

/**
 * The site header and the colours it uses: the start of the stylesheet, and all of it the
 * chat page (chat.ts) takes, since the rest (`label`, `button`, `.message`, `textarea`…)
 * would restyle Converse's own markup.
 */
export const HEADER_STYLESHEET = `
:root {
  color-scheme: light dark;
  --fg: #1d2330;
  --bg: #f4f6fb;
  --card: #ffffff;
  --muted: #5b6474;
  --accent: #1f5fbf;
  --accent-fg: #ffffff;
  --danger: #b3261e;
  --ok: #1e7a3a;
  --border: #cfd6e4;
  /* Controls' edges and the focus ring need 3:1 against what is around them (WCAG 1.4.11):
     #6b7487 is 4.4:1 on --bg and 4.7:1 on white; #8a5300 is 6.4:1 on white. */
  --control: #6b7487;
  --focus: #8a5300;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e8ebf2;
    --bg: #141821;
    --card: #1d2330;
    --muted: #a7b0c0;
    --accent: #6ea2ff;
    --accent-fg: #0b1020;
    --danger: #ff8a80;
    --ok: #7ddc97;
    --border: #364055;
    /* 5.3:1 on --bg and 4.6:1 on --card; the ring 10:1 on --card. */
    --control: #8390a8;
    --focus: #ffbf47;
  }
}
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 0.5rem; top: 0.5rem; background: var(--card); padding: 0.5rem; z-index: 1; }
header.top {
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg);
  display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem;
  padding: 0.75rem 1rem; background: var(--card); border-bottom: 1px solid var(--border);
}
header.top .brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; color: var(--fg); }
header.top nav { display: flex; flex-wrap: wrap; align-items: center; gap: 0.75rem; }
header.top form { margin: 0; }
header.top a { color: var(--accent); }
button.link { font: inherit; cursor: pointer; background: none; border: none; color: var(--accent); padding: 0; min-height: 0; text-decoration: underline; font-weight: 400; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
header.top .who { color: var(--muted); overflow-wrap: anywhere; }
header.top .who a { font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`.trimStart();

/**
 * The one stylesheet, served by the app at `/static/papillon.css` (no external CDN,
 * and CSP `default-src 'self'` allows nothing else). Fluid layout for phones and
 * desktops alike; visible focus for keyboard users; system fonts.
 */
export const STYLESHEET = `
${HEADER_STYLESHEET}*, *::before, *::after { box-sizing: border-box; }
html { font-size: 100%; -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg);
  background: var(--bg);
}
a { color: var(--accent); }
main { width: 100%; max-width: 44rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 0.75rem; }
section.card {
  background: var(--card); border: 1px solid var(--border); border-radius: 0.5rem;
  padding: 1rem; margin: 0 0 1rem;
}
section.card > :first-child { margin-top: 0; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
label.inline { display: inline-flex; align-items: center; gap: 0.4rem; font-weight: 400; margin: 0.25rem 1rem 0.25rem 0; }
input[type=text], input[type=password], input[type=email], input[type=file], textarea, select {
  width: 100%; max-width: 100%; padding: 0.55rem 0.6rem; font: inherit; color: inherit;
  background: var(--bg); border: 1px solid var(--control); border-radius: 0.35rem;
}
input[type=radio], input[type=checkbox] { accent-color: var(--accent); width: 1.1rem; height: 1.1rem; }
textarea { min-height: 5rem; }
fieldset { border: 1px solid var(--border); border-radius: 0.35rem; margin: 0.75rem 0; padding: 0.5rem 0.75rem; }
legend { font-weight: 600; padding: 0 0.25rem; }
.hint { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-top: 1rem; }
button, .button {
  display: inline-block; font: inherit; font-weight: 600; padding: 0.55rem 1.1rem; min-height: 2.75rem;
  border-radius: 0.35rem; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg);
  cursor: pointer; text-decoration: none;
}
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger, .button.danger { background: transparent; color: var(--danger); border-color: var(--danger); }
nav.tabs { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; margin: -0.25rem 0 1rem; }
nav.tabs a { font-weight: 600; }
pre { margin: 0.5rem 0; padding: 0.6rem 0.75rem; background: var(--bg); border: 1px solid var(--border);
  border-radius: 0.35rem; overflow-x: auto; font-size: 0.9rem; line-height: 1.4; }
ol { padding-left: 1.4rem; }
ol > li { margin: 0.3rem 0; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.5rem; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
th, td { text-align: left; padding: 0.45rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
td { overflow-wrap: anywhere; }
td form { margin: 0; }
.tag { display: inline-block; font-size: 0.75rem; font-weight: 600; padding: 0 0.4rem; border: 1px solid var(--accent);
  border-radius: 1rem; color: var(--accent); }
.message { padding: 0.6rem 0.8rem; border-radius: 0.35rem; margin: 0 0 1rem; border: 1px solid; }
.message.error { color: var(--danger); border-color: var(--danger); }
.message.ok { color: var(--ok); border-color: var(--ok); }
ul.scopes { padding-left: 1.25rem; }
ul.items { list-style: none; padding: 0; margin: 0; }
ul.items > li { border-top: 1px solid var(--border); padding: 0.75rem 0; }
ul.items > li:first-child { border-top: none; }
code, .secret { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.secret { display: block; padding: 0.5rem; background: var(--bg); border: 1px dashed var(--border); border-radius: 0.35rem; }
img.avatar { width: 96px; height: 96px; object-fit: cover; border-radius: 0.5rem; border: 1px solid var(--border); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0.5rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 30rem) {
  dl.facts { grid-template-columns: 1fr; }
  .actions > * { flex: 1 1 100%; }
  /* Tables keep the columns that say who and what; dates wait for a wider screen. */
  .wide { display: none; }
}
`.trimStart();

/** A strong validator for conditional requests (RFC 9110 §8.8.3). */
export const STYLESHEET_ETAG = `"${createHash('sha1').update(STYLESHEET).digest('base64url').slice(0, 16)}"`;
