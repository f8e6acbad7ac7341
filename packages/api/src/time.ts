// Kubernetes' two wire forms of a time (metav1.Time and metav1.MicroTime) and its
// human-readable ages (duration.HumanDuration, as kubectl prints AGE).

/** metav1.Time: RFC 3339 to the second, "2024-05-01T10:00:00Z". Defaults to now. */
export function rfc3339(at: Date | number = Date.now()): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** metav1.MicroTime: RFC 3339 with microseconds, "2024-05-01T10:00:00.123000Z". */
export function rfc3339Micro(at: Date | number = Date.now()): string {
  const iso = new Date(at).toISOString(); // always …ss.mmmZ (years 0–9999)
  return `${iso.slice(0, -1)}000Z`;
}

/**
 * A duration as Kubernetes prints ages (duration.HumanDuration): exact seconds below two
 * minutes, then coarser units ("3m20s", "15m", "5h", "2d3h", "400d", "2y5d"). Up to a second in
 * the future still reads "0s" to tolerate clock skew; further is "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}
