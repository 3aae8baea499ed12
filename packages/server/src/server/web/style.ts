/**
 * The pages' only stylesheet, served from /assets/cloakroom.css so the Content-Security-Policy
 * can stay `style-src 'self'` (no inline styles, no inline script anywhere). Every colour is a
 * variable: the light palette first, the dark one when the system asks for it
 * (`prefers-color-scheme: dark`).
 */
export const STYLESHEET = `
:root {
  --bg: #f4f5f7; --card: #ffffff; --text: #1d2330; --muted: #5c6475; --line: #e2e5ea;
  --accent: #2f5bd3; --accent-ink: #ffffff; --danger: #b3261e; --ok: #1e7b45; --warn: #8a5a00;
  --field: #ffffff; --field-line: #8a93a3; --ring: rgba(47,91,211,.35); --danger-line: #e6b7b3;
  --ok-bg: #eaf6ef; --ok-line: #b8e0c7; --error-bg: #fbeceb; --error-line: #efc2be;
  --warn-bg: #fff6e5; --warn-line: #f0d9a8; --tag-bg: #eef1f8; --tag-text: #334;
  --qr-bg: #ffffff; /* both themes: scanners want dark modules on light (the SVG's own colours) */
  --radius: 10px; --shadow: 0 1px 2px rgba(16,24,40,.06), 0 4px 16px rgba(16,24,40,.06);
  color-scheme: light;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1217; --card: #181c24; --text: #e6e9ef; --muted: #a0a8b8; --line: #2c3340;
    --accent: #8aa4ff; --accent-ink: #0d1326; --danger: #ff8f85; --ok: #6fd69b; --warn: #f0c060;
    --field: #10141b; --field-line: #626c80; --ring: rgba(138,164,255,.7); --danger-line: #7a3a35;
    --ok-bg: #12281c; --ok-line: #2b6543; --error-bg: #2d1615; --error-line: #74302b;
    --warn-bg: #2b220f; --warn-line: #6e5521; --tag-bg: #272e3b; --tag-text: #d3d9e4;
    --shadow: 0 1px 2px rgba(0,0,0,.5), 0 4px 16px rgba(0,0,0,.35);
    color-scheme: dark;
  }
}
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); }
header.top { background: var(--card); border-bottom: 1px solid var(--line); }
header.top .bar { max-width: 60rem; margin: 0 auto; padding: .75rem 1rem; display: flex; align-items: center; gap: 1rem; }
.brand { font-weight: 700; letter-spacing: .02em; color: var(--text); text-decoration: none; display: flex; align-items: center; gap: .5rem; }
.brand .mark { display: inline-grid; place-items: center; width: 1.75rem; height: 1.75rem; border-radius: 6px;
  background: var(--accent); color: var(--accent-ink); font-size: .9rem; }
nav.links { display: flex; gap: 1rem; margin-left: auto; align-items: center; flex-wrap: wrap; }
nav.links a { text-decoration: none; color: var(--muted); }
nav.links form { display: flex; margin: 0; }
nav.links a[aria-current="page"] { color: var(--text); font-weight: 600; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
main.narrow { max-width: 26rem; padding-top: 4rem; }
main.wide, header.top .bar.wide { max-width: 72rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow);
  padding: 1.25rem; margin-bottom: 1.25rem; }
.grid { display: grid; gap: 1.25rem; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); margin-bottom: 1.25rem; }
.card .grid { margin-bottom: 0; }
.grid .card { margin-bottom: 0; }
label { display: block; font-weight: 600; font-size: .9rem; margin: .75rem 0 .25rem; }
input[type=text], input[type=password] { width: 100%; padding: .6rem .7rem; font: inherit; color: inherit;
  border: 1px solid var(--field-line); border-radius: 8px; background: var(--field); }
input::placeholder { color: var(--muted); opacity: .8; }
input[type=checkbox] { accent-color: var(--accent); }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--ring); outline-offset: 1px; border-color: var(--accent); }
.check { display: flex; align-items: center; gap: .5rem; margin: .9rem 0; font-weight: 400; }
.check input { width: 1.1rem; height: 1.1rem; }
button { font: inherit; font-weight: 600; padding: .55rem 1rem; border-radius: 8px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--accent-ink); cursor: pointer; }
button:disabled { opacity: .5; cursor: not-allowed; }
button.wide { width: 100%; margin-top: 1rem; padding: .7rem 1rem; }
button.quiet { background: var(--field); color: var(--text); border-color: var(--field-line); }
button.danger { background: var(--field); color: var(--danger); border-color: var(--danger-line); }
button.small, a.button.small { padding: .3rem .65rem; font-size: .875rem; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin-top: 1rem; }
.inline { display: inline; }
.flash { border-radius: 8px; padding: .7rem .9rem; margin-bottom: 1rem; border: 1px solid; }
.flash.ok { background: var(--ok-bg); border-color: var(--ok-line); color: var(--ok); }
.flash.error { background: var(--error-bg); border-color: var(--error-line); color: var(--danger); }
.flash.warn { background: var(--warn-bg); border-color: var(--warn-line); color: var(--warn); }
.muted { color: var(--muted); }
.hint { color: var(--muted); font-size: .875rem; margin: .25rem 0 0; }
.actions .hint { margin: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 500; }
.tag { display: inline-block; padding: .05rem .5rem; border-radius: 999px; background: var(--tag-bg); color: var(--tag-text); font-size: .8rem; margin-right: .25rem; }
.tag.locked { background: var(--error-bg); color: var(--danger); }
.tag.here { background: var(--ok-bg); color: var(--ok); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .6rem .5rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
td form { margin: 0; }
td .actions { margin-top: 0; gap: .4rem; }
td .actions button, td time { white-space: nowrap; }
.who .name, .who .login { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 12rem; }
.who .tag { margin: 0 0 0 .4rem; vertical-align: .1em; }
td .tag:last-child { margin-right: 0; }
.roles-form { display: flex; gap: .4rem; }
.roles-form input { max-width: 11rem; min-width: 7rem; padding: .35rem .5rem; }
.center { text-align: center; }
.big { font-size: 3rem; font-weight: 800; margin: 0; color: var(--muted); }
footer.small { text-align: center; color: var(--muted); font-size: .8rem; margin-top: 2rem; }
a.button { display: inline-block; font-weight: 600; padding: .55rem 1rem; border-radius: 8px; text-decoration: none;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink); }
a.button.quiet { background: var(--field); color: var(--text); border-color: var(--field-line); }
.crumbs { color: var(--muted); font-size: .875rem; margin: 0 0 .5rem; }
.split { display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap; }
.split p { margin: 0; flex: 1 1 18rem; }
abbr[title] { text-decoration: none; }
code, input.code, textarea.link { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
input.code { letter-spacing: .08em; }
input[readonly], textarea[readonly] { background: var(--tag-bg); }
textarea.link { display: block; width: 100%; padding: .6rem .7rem; font-size: .95rem; color: inherit; resize: none;
  border: 1px solid var(--field-line); border-radius: 8px; word-break: break-all; margin-bottom: 1rem; }
textarea.link:focus-visible { outline: 3px solid var(--ring); outline-offset: 1px; border-color: var(--accent); }
form.short { max-width: 20rem; }
details.alt { margin-top: 1rem; }
details > summary { cursor: pointer; color: var(--accent); }
details.alt > summary { font-size: .9rem; }
details.menu { position: relative; }
details.menu > summary { list-style: none; font-size: .875rem; font-weight: 600; padding: .3rem .65rem; border-radius: 8px;
  border: 1px solid var(--field-line); background: var(--field); color: var(--text); white-space: nowrap; }
details.menu > summary::-webkit-details-marker { display: none; }
details.menu > summary::after { content: " ▾"; color: var(--muted); }
details.menu[open] > form { position: absolute; right: 0; top: calc(100% + .35rem); z-index: 1; width: 16rem;
  padding: .75rem; background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow); }
details.menu .check { margin: .6rem 0; font-size: .875rem; }
form.cancel { margin-top: 1rem; text-align: center; }
/* Passkey parts are rendered hidden and shown by /assets/passkeys.js: nothing may show them sooner. */
[hidden] { display: none !important; }
.or { display: flex; align-items: center; gap: .75rem; margin: 1.25rem 0 0; color: var(--muted); font-size: .875rem; }
.or::before, .or::after { content: ""; flex: 1; border-top: 1px solid var(--line); }
.passkey-status.flash { margin: .75rem 0 0; }
details.menu label:first-of-type { margin-top: 0; }
details.menu form .actions { margin-top: .6rem; }
.enrol-key { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.enrol-key > div { flex: 1 1 16rem; min-width: 0; }
figure.qr { margin: 0; flex: 0 0 auto; width: 13rem; max-width: 100%; padding: .25rem; background: var(--qr-bg); border-radius: 8px; }
figure.qr svg { display: block; width: 100%; height: auto; }
code.key { display: inline-block; font-size: 1.1rem; padding: .4rem .6rem; border-radius: 8px; background: var(--tag-bg);
  color: var(--text); word-break: break-all; user-select: all; }
ol.codes { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .5rem 3rem;
  margin: 1rem 0; padding-left: 1.75rem; }
ol.codes li { padding-left: .25rem; color: var(--muted); }
ol.codes code { font-size: 1.05rem; color: var(--text); user-select: all; }
@media (max-width: 40rem) {
  details.menu[open] > form { position: static; width: auto; margin-top: .4rem; box-shadow: none; }
  table.responsive td[data-label="Actions"] { flex-wrap: wrap; }
  main.narrow { padding-top: 1.5rem; }
  header.top .bar { flex-wrap: wrap; gap: .5rem; }
  nav.links { gap: .6rem; }
  table.responsive .who { min-width: 0; text-align: right; }
  table.responsive td .actions { justify-content: flex-end; }
  table.responsive tr:last-child { border-bottom: 0; padding-bottom: 0; }
  table.responsive thead { display: none; }
  table.responsive tr { display: block; border-bottom: 1px solid var(--line); padding: .5rem 0; }
  table.responsive td { display: flex; justify-content: space-between; gap: 1rem; border: 0; padding: .3rem 0; }
  table.responsive td::before { content: attr(data-label); color: var(--muted); font-size: .8rem; }
}
`;
