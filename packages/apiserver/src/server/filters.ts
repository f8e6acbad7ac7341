// What every request goes through before its handler, in kube-apiserver's filter order:
// authentication (client certificate or bearer token; anonymous only on the public paths),
// audit, impersonation, priority and fairness (fairness.ts: a seat of the request's priority
// level, or a 429), authorization — then the routing table (routes.ts). Errors become a
// Status body in one place (sendError), and every request is counted and timed.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { requestAttributes as auditAttributes, type AuditLog, type AuditRecord } from "../audit.js";
import type { UserInfo } from "../auth.js";
import { requestAttributes } from "../authz/index.js";
import { UnauthorizedError } from "../errors.js";
import type { PriorityAndFairness } from "../fairness.js";
import { impersonatedUser, impersonates } from "../impersonation.js";
import { sendError } from "../request.js";
import { route, type Served, type ServedParts } from "./routes.js";

/** Paths anyone may read without credentials, as Kubernetes' public-info-viewer role allows. */
const PUBLIC_PATHS = new Set(["/version", "/healthz", "/livez", "/readyz"]);

const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };

export interface FilterParts extends ServedParts {
  audit: AuditLog | undefined;
  log: Logger;
  /** Undefined with --enable-priority-and-fairness=false. */
  fairness: PriorityAndFairness | undefined;
}

/** Kubernetes' long-running requests: they hold no seat of priority and fairness. */
const LONG_RUNNING_SUBRESOURCES = new Set(["attach", "exec", "proxy", "log", "portforward"]);

/** Serves one request: the filters above, then its handler; never throws. */
export async function handleRequest(
  parts: FilterParts,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = process.hrtime.bigint();
  const served: Served = { verb: req.method ?? "GET", subresource: "" };
  let code = 200;
  let audit: AuditRecord | undefined;
  let release: (() => void) | undefined;
  try {
    const url = new URL(req.url ?? "/", "https://localhost");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    let user = await parts.auth.authenticate(req);
    const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
    audit = parts.audit?.begin(
      req,
      res,
      user ?? ANONYMOUS,
      auditAttributes(req.method ?? "GET", path, segments, url.searchParams),
    );
    if (!user && !PUBLIC_PATHS.has(path)) throw new UnauthorizedError();
    if (user && impersonates(req.headers)) {
      const as = await impersonatedUser(user, req.headersDistinct, (a) => parts.authz.check(a));
      if (as) {
        user = as;
        audit?.impersonate(as);
      }
    }
    const attrs = requestAttributes(user ?? ANONYMOUS, served.verb, path, url.searchParams);
    if (parts.fairness) {
      const longRunning =
        attrs.verb === "watch" || LONG_RUNNING_SUBRESOURCES.has(attrs.subresource);
      const seat = await parts.fairness.admit(attrs, longRunning, (cb) => res.once("close", cb));
      release = seat.release;
      res.setHeader("X-Kubernetes-PF-FlowSchema-UID", seat.flowSchemaUid);
      res.setHeader("X-Kubernetes-PF-PriorityLevel-UID", seat.priorityLevelUid);
    }
    if (user) await parts.authz.check(attrs);
    await route(parts, { req, res, url, path, segments, user, audit }, served);
    code = res.statusCode;
  } catch (err) {
    code = sendError(res, err, (msg, e) => parts.log.error({ err: e, url: req.url }, msg));
  } finally {
    release?.();
    audit?.complete(code);
    const labels = {
      verb: served.verb,
      group: served.info?.group ?? "",
      resource: served.info?.resource ?? "",
      subresource: served.subresource,
    };
    parts.metrics.requests.inc({ ...labels, code: String(code) });
    if (served.verb !== "WATCH")
      parts.metrics.latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
