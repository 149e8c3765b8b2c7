// Who is logged in. The token lives in localStorage so a reload keeps the session; it is only
// ever sent in the Authorization header (the API never accepts tokens in URLs).

const KEY = "shop.session.v1";
const listeners = new Set();

/** {token, user: {id, name, email, role}, expiresAt} or null. */
export function current() {
  let session;
  try {
    session = JSON.parse(localStorage.getItem(KEY) ?? "null");
  } catch {
    return null; // a damaged entry is the same as being logged out
  }
  if (!session?.token || !session.user) return null;
  return session;
}

/** True when a session exists but its token has run out: it is worth a "please log in again". */
export function expired(session = current()) {
  return Boolean(session && session.expiresAt && Date.now() >= session.expiresAt);
}

/** The session if it is still usable. */
export function active() {
  const session = current();
  return session && !expired(session) ? session : null;
}

export function token() {
  return current()?.token ?? null;
}

export function isAdmin() {
  return active()?.user.role === "admin";
}

/** Store the answer of register or login: {token, expires_in, user}. */
export function start({ token, expires_in, user }) {
  const expiresAt = Number.isFinite(expires_in) ? Date.now() + expires_in * 1000 : null;
  localStorage.setItem(KEY, JSON.stringify({ token, user, expiresAt }));
  notify();
}

export function updateUser(changes) {
  const session = current();
  if (!session) return;
  localStorage.setItem(KEY, JSON.stringify({ ...session, user: { ...session.user, ...changes } }));
  notify();
}

export function end() {
  localStorage.removeItem(KEY);
  notify();
}

/** Called with the new session (or null) after every change, in this tab or another. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify() {
  for (const listener of listeners) listener(active());
}

// Logging out in one tab logs out the others too.
window.addEventListener("storage", (event) => {
  if (event.key === KEY || event.key === null) notify();
});
