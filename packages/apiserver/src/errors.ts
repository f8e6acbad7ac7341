// Every error the apiserver answers with, each a Kubernetes Status reason and HTTP code.
// They are rendered to a `Status` body (meta/v1 Status, from @skiff/api) in exactly one place:
// `toStatus`.
import type { Status, StatusDetails as WireStatusDetails } from "@skiff/api";

export type { Status };

/**
 * One cause of an error, as Go's StatusCause holds it: `type` (StatusCause.Type, a field
 * error's type such as FieldValueInvalid: the shape of @skiff/api's FieldError) goes out as
 * the JSON key `reason` of meta/v1 StatusCause, which `toStatus` writes.
 */
export interface Cause {
  type?: string;
  message: string;
  field?: string;
}

/** meta/v1 StatusDetails, with the causes as errors carry them. */
export type StatusDetails = Omit<WireStatusDetails, "causes"> & { causes?: Cause[] };

/** Base of every error the API reports to clients. `retryable`: retrying may help. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly retryable = false,
  ) {
    super(message);
  }
}

interface Target {
  kind: string; // plural resource name as Kubernetes reports it, e.g. "pods"
  group: string;
  name: string;
}

function qualified(t: Target): string {
  return t.group ? `${t.kind}.${t.group}` : t.kind;
}

/** 404: the object, resource or path does not exist. */
export class NotFoundError extends ApiError {
  constructor(t: Target) {
    super(404, "NotFound", `${qualified(t)} "${t.name}" not found`, {
      name: t.name,
      group: t.group || undefined,
      kind: t.kind,
    });
  }
}

/** 404 for a path that names no resource this server knows. */
export class UnknownResourceError extends ApiError {
  constructor(path: string) {
    super(404, "NotFound", `the server could not find the requested resource (${path})`, {});
  }
}

/** 409: a create named an object that already exists. */
export class AlreadyExistsError extends ApiError {
  constructor(t: Target) {
    super(409, "AlreadyExists", `${qualified(t)} "${t.name}" already exists`, {
      name: t.name,
      group: t.group || undefined,
      kind: t.kind,
    });
  }
}

/** 409: an update carried a stale resourceVersion, or a precondition failed. */
export class ConflictError extends ApiError {
  constructor(t: Target, why: string, causes?: Cause[]) {
    super(409, "Conflict", `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": ${why}`, {
      name: t.name,
      group: t.group || undefined,
      kind: t.kind,
      causes,
    });
  }
}

/** 422: the object failed validation; one cause per offending field. */
export class InvalidError extends ApiError {
  constructor(kind: string, group: string, name: string, causes: Cause[]) {
    const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    const summary = list.length === 1 ? list[0] : `[${list.join(", ")}]`;
    super(422, "Invalid", `${kind}${group ? "." + group : ""} "${name}" is invalid: ${summary}`, {
      name,
      group: group || undefined,
      kind,
      causes,
    });
  }
}

/** 400: the request itself is malformed (body, query, selector, mismatched namespace). */
export class BadRequestError extends ApiError {
  constructor(message: string, causes?: Cause[]) {
    super(400, "BadRequest", message, causes ? { causes } : undefined);
  }
}

/** 401: no valid credentials were presented. */
export class UnauthorizedError extends ApiError {
  constructor() {
    super(401, "Unauthorized", "Unauthorized");
  }
}

/** 403: the request is understood but not allowed (e.g. content in a terminating namespace). */
export class ForbiddenError extends ApiError {
  constructor(message: string, details?: StatusDetails) {
    super(403, "Forbidden", message, details);
  }
}

/** 405: the resource exists but does not support the verb. */
export class MethodNotAllowedError extends ApiError {
  constructor(verb: string, what: string, message?: string) {
    super(
      405,
      "MethodNotAllowed",
      message ??
        `the server does not allow this method on the requested resource (${verb} ${what})`,
    );
  }
}

/** 410: the requested resourceVersion is older than what is still kept. */
export class GoneError extends ApiError {
  constructor(message: string) {
    super(410, "Expired", message);
  }
}

/** 413: the request body is larger than the server accepts. */
export class TooLargeError extends ApiError {
  constructor(limit: number) {
    super(413, "RequestEntityTooLarge", `the request body is larger than ${limit} bytes`);
  }
}

/** 415: the body's content type is one this server does not decode. */
export class UnsupportedMediaTypeError extends ApiError {
  constructor(contentType: string, supported: string[]) {
    super(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${supported.join(", ")} (got ${JSON.stringify(contentType)})`,
    );
  }
}

/** 406: no representation the client accepts can be produced. */
export class NotAcceptableError extends ApiError {
  constructor(accept: string, supported: string[]) {
    super(
      406,
      "NotAcceptable",
      `only the following media types are accepted: ${supported.join(", ")} (got ${JSON.stringify(accept)})`,
    );
  }
}

/** 503: storage (etcd) cannot be reached; retrying later may help. */
export class UnavailableError extends ApiError {
  constructor(message: string) {
    super(503, "ServiceUnavailable", message, { retryAfterSeconds: 1 }, true);
  }
}

/** 504: storage did not answer in time; retrying may help. */
export class TimeoutError extends ApiError {
  constructor(message: string) {
    super(504, "Timeout", message, { retryAfterSeconds: 1 }, true);
  }
}

/** 504: a watch or list asked for a resourceVersion etcd has not reached yet; retry in a moment. */
export class ResourceVersionTooLargeError extends ApiError {
  constructor(message = "Too large resource version") {
    super(504, "Timeout", message, {
      causes: [{ type: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    });
  }
}

/**
 * 503: this apiserver was started without what the request needs (a service account signing
 * key, a kubelet client certificate); retrying will not help until it is restarted with it.
 */
export class NotConfiguredError extends ApiError {
  constructor(message: string) {
    super(503, "ServiceUnavailable", message);
  }
}

/**
 * A kubelet refused a relayed pods/log, exec, attach or portforward request: its 400 and 404
 * pass through as BadRequest and NotFound, anything else is a 500 with the kubelet's message.
 */
export class KubeletAnswerError extends ApiError {
  constructor(code: number, message: string) {
    if (code === 404) super(404, "NotFound", message);
    else if (code === 400) super(400, "BadRequest", message);
    else super(500, "InternalError", message);
  }
}

/**
 * A patch could not be applied (patch/errors.ts's PatchError): 400 BadRequest for a malformed
 * patch, 422 Invalid for one that does not apply, 409 Conflict for a server-side apply that
 * changes another manager's fields (one cause per field).
 */
export class PatchFailedError extends ApiError {
  constructor(
    code: 400 | 409 | 422,
    reason: "BadRequest" | "Invalid" | "Conflict",
    message: string,
    causes?: Cause[],
  ) {
    super(code, reason, message, causes ? { causes } : undefined);
  }
}

/** 429: an eviction would break a PodDisruptionBudget; retrying later may help. */
export class TooManyRequestsError extends ApiError {
  constructor(message: string, causes?: Cause[]) {
    super(429, "TooManyRequests", message, causes ? { causes } : undefined, true);
  }
}

/** 500: a bug on our side. The message is generic; the detail goes to the log. */
export class InternalError extends ApiError {
  constructor(message = "an internal error occurred") {
    super(500, "InternalError", message, undefined, true);
  }
}

/** The one place an error becomes a Status body. */
export function toStatus(err: ApiError): Status {
  const status: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: err.message,
    reason: err.reason,
    code: err.code,
  };
  if (err.details && Object.keys(err.details).length > 0) {
    const { causes, ...rest } = err.details;
    status.details = stripUndefined({
      ...rest,
      causes: causes?.map(({ type, message, field }) =>
        stripUndefined({ reason: type, message, field }),
      ),
    });
  }
  return status;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * An admission webhook refused the request: its own status code (403 unless it gave one of
 * 400 or more), reason and message, the message prefixed as Kubernetes prefixes it.
 */
export class WebhookDeniedError extends ApiError {
  constructor(webhook: string, result: { code?: number; reason?: string; message?: string }) {
    const denied = `admission webhook "${webhook}" denied the request`;
    const why = result.message || result.reason;
    super(
      result.code !== undefined && result.code >= 400 ? result.code : 403,
      result.reason ?? "",
      why ? `${denied}: ${why}` : `${denied} without explanation`,
    );
  }
}

/** 500: a webhook with failurePolicy Fail could not be called or answered nonsense. */
export class WebhookFailedError extends ApiError {
  constructor(webhook: string, why: string) {
    super(
      500,
      "InternalError",
      `Internal error occurred: failed calling webhook "${webhook}": ${why}`,
      {
        causes: [{ message: `failed calling webhook "${webhook}": ${why}` }],
      },
    );
  }
}

const POLICY_CODES: Record<string, number> = {
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
  Invalid: 422,
};

/**
 * A ValidatingAdmissionPolicy with a Deny binding refused the request: worded as an
 * admission refusal (`deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'p'
 * with binding 'b' denied request: ...`), with the validation's reason (Invalid, 422,
 * unless it names Forbidden 403, Unauthorized 401 or RequestEntityTooLarge 413).
 */
export class PolicyDeniedError extends ApiError {
  constructor(t: Target, message: string, reason = "Invalid") {
    super(
      POLICY_CODES[reason] ?? 422,
      reason,
      `${qualified(t)} "${t.name}" is forbidden: ${message}`,
      { name: t.name, kind: t.kind, ...(t.group ? { group: t.group } : {}), causes: [{ message }] },
    );
  }
}
