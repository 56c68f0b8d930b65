// The chat page's start-up script (GET /chat/boot.js, served by chat.ts). It runs in the
// browser: Converse.js, configured from the page's data- attributes, since the page's
// Content-Security-Policy allows no inline script.
//
// Credentials: Converse asks `credentials_url` for `{ jid, password }` before every
// connection; this plugin makes that a POST carrying the web session's CSRF token, and the
// answer's `password` is a 10-minute OAuth access token, presented with SASL OAUTHBEARER
// (RFC 7628). The account's password never reaches this page, and nothing is stored.

const root = document.getElementById('papillon-chat');
const config = root?.dataset ?? {};
const { assets, websocket, credentials, csrf, signin } = config;

/** Back to the sign-in page (which returns here): the web session has ended. */
function signInAgain() {
  window.location.assign(signin ?? '/signin?return=%2Fchat');
}

function showProblem(text) {
  const box = document.getElementById('papillon-chat-problem');
  if (box) {
    box.textContent = text;
    box.hidden = false;
  }
}

async function start() {
  // RFC 7395 §3.1: ws(s)://, on this page's own host; wss whenever the page is https.
  const socket = new URL(websocket, window.location.href);
  socket.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';

  const { default: converse } = await import(`${assets}/converse.min.js`);

  converse.plugins.add('papillon-session', {
    initialize() {
      const { api } = this._converse;
      // Converse opens a GET; the token endpoint takes a POST with the session's CSRF token.
      api.listen.on('beforeFetchLoginCredentials', (_context, xhr) => {
        xhr.open('POST', credentials, true);
        xhr.setRequestHeader('Accept', 'application/json');
        xhr.setRequestHeader('X-CSRF-Token', csrf);
        xhr.addEventListener('load', () => {
          if (xhr.status === 401 || xhr.status === 403) signInAgain();
        });
        return xhr;
      });
      // RFC 6121 §4.7.2.2: a contact's <status/> (an MSN contact's personal message) under
      // its name in the chat's heading, which shows the chat's `status`. Read from the
      // presence stanzas here because Converse also clears a contact's status on
      // subscription presences, which carry none.
      const { state, constants } = this._converse;
      const { Strophe } = converse.env;
      const statusTexts = new Map();
      const showStatus = (jid) => state.chatboxes?.get(jid)?.set('status', statusTexts.get(jid) ?? '');
      const onPresence = (presence) => {
        const type = presence.getAttribute('type');
        if (type === null || type === 'unavailable') {
          const jid = Strophe.getBareJidFromJid(presence.getAttribute('from') ?? '');
          const text = type === null ? (presence.querySelector(':scope > status')?.textContent ?? '') : '';
          statusTexts.set(jid, text);
          showStatus(jid);
        }
        return true; // keep the handler
      };
      const watchPresence = () => api.listen.stanza('presence', onPresence);
      api.listen.on('connected', watchPresence);
      api.listen.on('reconnected', watchPresence);
      api.listen.on('chatBoxInitialized', (chat) => {
        if (chat.get('type') === constants.PRIVATE_CHAT_TYPE) showStatus(chat.get('jid'));
      });
      // Converse's own "Log out" signs out of the web pages, which ends every chat tab.
      api.listen.on('logout', () => {
        const form = document.getElementById('papillon-signout');
        if (form) form.submit();
        else signInAgain();
      });
    },
  });

  await converse.initialize({
    assets_path: assets,
    authentication: 'login',
    auto_login: true,
    auto_reconnect: true,
    credentials_url: credentials,
    websocket_url: socket.href,
    discover_connection_methods: false,
    // Only OAUTHBEARER: the "password" is a token, never to be tried as a SCRAM password.
    connection_options: { mechanisms: [converse.env.Strophe.SASLOAuthBearer] },
    view_mode: 'fullscreen',
    whitelisted_plugins: ['papillon-session'],
    // No OMEMO (its keys would live in this browser), registration or push service.
    // The group chat plugins stay (vCards need their classes) and their list is hidden
    // (chat.css): Papillon has no group chat service.
    blacklisted_plugins: ['converse-omemo', 'converse-omemo-views', 'converse-register', 'converse-push'],
    // The cache lives for this tab only and goes at log-out; no SCRAM keys are kept.
    persistent_store: 'sessionStorage',
    clear_cache_on_logout: true,
    reuse_scram_keys: false,
    allow_registration: false,
    allow_logout: true,
    show_self_in_roster: false,
    show_connection_url_input: false,
    // Nothing from other sites: the system's emoji font, no previews of linked media.
    use_system_emojis: true,
    render_media: false,
    embed_3rd_party_media_players: false,
    autocomplete_providers_url: '',
    xmpp_providers_url: '',
    notification_icon: `${assets}/images/logo/conversejs-filled.svg`,
    loglevel: 'error',
  });
}

if (!assets || !websocket || !credentials || !csrf) {
  showProblem('The chat page is missing its settings. Reload the page.');
} else if (window.location.protocol !== 'https:') {
  // The token is a bearer credential: the server takes it over TLS only (RFC 6750 §5.3).
  showProblem('The chat needs a secure connection: open this page with https:// instead of http://.');
} else {
  start().catch((err) => {
    console.error(err);
    showProblem('The chat could not start. Reload the page to try again.');
  });
}
