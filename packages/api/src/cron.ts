// Cron schedules as a CronJob reads them: five fields or a descriptor (@hourly, @daily...),
// evaluated in a time zone. Parsing and stepping are croner's; the rules on what a CronJob
// may say (exactly five fields, no TZ= prefix, known descriptors) are Kubernetes'.
import { Cron } from "croner";

const DESCRIPTORS = new Set([
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
]);

export interface Schedule {
  /** The first scheduled time strictly after `after`, or undefined if there is none. */
  next(after: Date): Date | undefined;
}

/** Why a schedule cannot be parsed (robfig/cron's wording where it has one), or undefined. */
export function scheduleError(schedule: string): string | undefined {
  const s = schedule.trim();
  if (s.startsWith("@")) {
    if (!DESCRIPTORS.has(s)) return `unrecognized descriptor: ${s}`;
  } else {
    const fields = s.split(/\s+/).filter(Boolean);
    if (fields.length !== 5)
      return `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`;
  }
  try {
    new Cron(s, { paused: true });
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return undefined;
}

/** Why a time zone is not usable, or undefined (an IANA name, never "Local"). */
export function timeZoneError(timeZone: string): string | undefined {
  if (timeZone.toLowerCase() === "local")
    return "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    return `unknown time zone ${timeZone}`;
  }
  return undefined;
}

/** A schedule to step through; throws with scheduleError's message when it is invalid. */
export function parseSchedule(schedule: string, timeZone?: string): Schedule {
  const err = scheduleError(schedule) ?? (timeZone ? timeZoneError(timeZone) : undefined);
  if (err) throw new Error(err);
  const cron = new Cron(schedule.trim(), {
    paused: true,
    ...(timeZone ? { timezone: timeZone } : {}),
  });
  return {
    next(after) {
      return cron.nextRun(after) ?? undefined;
    },
  };
}
