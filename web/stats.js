// /stats: sync statistics. The page is being built in parallel; these are the router's
// hooks so the entry and its view exist meanwhile.

export function enterStats() {
  // The page is being built.
}

export function leaveStats() {
  // The page is being built.
}

export function renderStats() {
  // The page is being built.
}
