// Events: they expire (Kubernetes' --event-ttl, one hour by default).
import type { Strategy } from "./strategy.js";

export const eventStrategy: Strategy = { expires: true };
