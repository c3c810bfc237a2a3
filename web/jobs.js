// /jobs: every job, not only the home page's recent ones. The page is being built in
// parallel; these are the router's hooks so the entry and its view exist meanwhile.

export function enterJobs() {
  // The page is being built.
}

export function leaveJobs() {
  // The page is being built.
}

export function renderJobs() {
  // The page is being built.
}
