// Who is logged in. The session itself is an HttpOnly cookie the page never sees; this is
// only the answer of GET /api/auth/me, kept so pages can show names and hide what a role
// may not do. The server checks every request anyway: hiding is for clarity, not safety.

import { api } from "./api.js";
import { roleRank } from "./ui.js";

export const session = {
  /** "unknown" until /api/auth/me answered, then "ready"; "error" when it could not be asked. */
  state: "unknown",
  /** False when the api has no accounts at all (an older server: /api/auth/me is a 404). */
  enabled: true,
  /** {username, display_name, role, email, must_change_password, managed_by} or null. */
  user: null,
  error: null,
};

const listeners = new Set();

export function onUserChange(fn) {
  listeners.add(fn);
}

export function setUser(user) {
  session.user = user && typeof user === "object" && typeof user.username === "string" ? { ...user } : null;
  for (const fn of listeners) fn(session.user);
}

export async function loadMe() {
  try {
    const me = await api.me();
    session.enabled = true;
    session.state = "ready";
    session.error = null;
    setUser(me);
  } catch (err) {
    if (err.status === 401) {
      session.enabled = true;
      session.state = "ready";
      session.error = null;
      setUser(null);
    } else if (err.status === 404) {
      // No accounts in this api: everything is open, as before.
      session.enabled = false;
      session.state = "ready";
      session.error = null;
      setUser(null);
    } else {
      session.state = "error";
      session.error = err;
    }
  }
}

export function displayName(user = session.user) {
  return user ? user.display_name || user.username : "";
}

export function hasRole(role, user = session.user) {
  // Without accounts on the server, nothing is restricted.
  if (!session.enabled) return true;
  return !!user && roleRank(user.role) >= roleRank(role);
}

export const isAdmin = () => hasRole("admin");
export const canSubmit = () => hasRole("operator");
