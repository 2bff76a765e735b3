/**
 * A one-time message for the next screen ("Declaration saved on this device"): set just before
 * navigating to `path`, shown by that screen. Reading it has no side effect, so that React may
 * render twice; it is simply forgotten after a few seconds.
 */
let pending: { message: string; hash: string; at: number } | null = null;

export function flash(message: string, path: string): void {
  pending = { message, hash: `#${path}`, at: Date.now() };
}

export function recentFlash(): string | null {
  if (!pending || pending.hash !== window.location.hash) return null;
  return Date.now() - pending.at < 3000 ? pending.message : null;
}
