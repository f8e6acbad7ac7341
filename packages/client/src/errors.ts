// Errors the client throws: an ApiError for every answer the apiserver refused (built from
// its Status body), a ConnectionError when no answer came at all.
//
// Contract: every non-2xx response becomes an ApiError whose `reason` is the Status reason
// (or, when the body is not a Status, the reason Kubernetes pairs with the HTTP code), whose
// `code` is the HTTP code and whose `status` is the Status body (synthesized if need be).
// `retryable` says whether sending the same request again later may succeed.

import { isObject, type Status, type StatusCause } from "@skiff/api/light";

export type { Status, StatusCause, StatusDetails } from "@skiff/api/light";

/**
 * The Status reasons the client knows, with the HTTP code Kubernetes pairs with each and
 * when the apiserver answers with it. Any other reason the server sends is kept as is.
 */
export const reasons = {
  BadRequest: {
    code: 400,
    when: "the request is malformed: a bad query parameter, body or selector",
  },
  Unauthorized: { code: 401, when: "no valid credentials were presented" },
  Forbidden: { code: 403, when: "the user may not do this, or a namespace is terminating" },
  NotFound: { code: 404, when: "the object, resource or path does not exist" },
  MethodNotAllowed: { code: 405, when: "the resource does not support this verb" },
  NotAcceptable: { code: 406, when: "the server cannot produce the Accept type asked for" },
  AlreadyExists: { code: 409, when: "a create named an object that already exists" },
  Conflict: { code: 409, when: "an update carried a stale resourceVersion (re-read and retry)" },
  Gone: {
    code: 410,
    when: "a watch or list asked for a resourceVersion or continue token older than the server keeps (relist)",
  },
  RequestEntityTooLarge: { code: 413, when: "the request body is too large" },
  UnsupportedMediaType: {
    code: 415,
    when: "the Content-Type is not accepted for this verb (e.g. a patch type)",
  },
  Invalid: { code: 422, when: "the object failed validation; details.causes names the fields" },
  TooManyRequests: {
    code: 429,
    when: "the server (or a priority level) is overloaded; retry after details.retryAfterSeconds",
  },
  InternalError: { code: 500, when: "the server failed unexpectedly" },
  ServiceUnavailable: { code: 503, when: "the server or its storage is not available right now" },
  Timeout: { code: 504, when: "the server could not finish the request in time" },
} as const satisfies Record<string, { code: number; when: string }>;

export type Reason = keyof typeof reasons;

/** Codes for which a later retry of the same request may succeed. */
const retryableCodes = new Set([429, 500, 502, 503, 504]);

function reasonForCode(code: number): string {
  for (const [reason, r] of Object.entries(reasons)) {
    // 409 is ambiguous (AlreadyExists or Conflict); a body-less 409 is a Conflict.
    if (r.code === code && reason !== "AlreadyExists") return reason;
  }
  if (code === 502) return "InternalError";
  return code >= 500 ? "InternalError" : "BadRequest";
}

/**
 * Thrown by every request the apiserver answered with a non-2xx code. The reflector also
 * builds one from a watch ERROR event's Status (410 Gone there means: relist).
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: number;
  readonly reason: string;
  readonly status: Status;
  readonly retryable: boolean;

  constructor(status: Status) {
    const code = status.code ?? 500;
    const reason = status.reason || reasonForCode(code);
    super(status.message || `${reason} (${code})`);
    this.code = code;
    this.reason = reason;
    this.status = { ...status, code, reason };
    this.retryable = retryableCodes.has(code) || status.details?.retryAfterSeconds !== undefined;
  }

  /** Seconds the server asked us to wait before retrying, if it said. */
  get retryAfterSeconds(): number | undefined {
    return this.status.details?.retryAfterSeconds;
  }

  /** The field causes of an Invalid error (empty for other reasons). */
  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }
}

/**
 * Thrown when a request got no HTTP answer: connection refused or reset, TLS failure,
 * DNS failure. Always retryable; `cause` holds Node's error.
 */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Whether a decoded JSON value is a Status object. */
export function isStatus(v: unknown): v is Status {
  return isObject(v) && v.kind === "Status";
}

/**
 * Builds the ApiError for a response with HTTP `code` and raw `body`. A Status body is
 * used as is; anything else (an HTML page from a proxy, plain text) becomes a Status whose
 * message quotes the start of the body.
 */
export function apiErrorFromResponse(code: number, body: string, method = "", path = ""): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) return new ApiError({ ...parsed, code: parsed.code || code });
  const reason = reasonForCode(code);
  const text = body.trim().slice(0, 200);
  const where = method ? ` (${method} ${path})` : "";
  return new ApiError({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code,
    reason,
    message: text
      ? `the server answered ${code}${where}: ${text}`
      : `the server answered ${code} ${reason}${where} with an empty body`,
  });
}

const reasonIs =
  (reason: string) =>
  (e: unknown): e is ApiError =>
    e instanceof ApiError && e.reason === reason;

/** 404 NotFound: the object (or resource) does not exist. */
export const isNotFound = reasonIs("NotFound");
/** 409 Conflict: a stale resourceVersion; re-read and try again. */
export const isConflict = reasonIs("Conflict");
/** 409 AlreadyExists: a create named an existing object. */
export const isAlreadyExists = reasonIs("AlreadyExists");
/** 410 Gone (or an `Expired` reason): the resourceVersion is too old; relist. */
export const isGone = (e: unknown): e is ApiError =>
  e instanceof ApiError && (e.code === 410 || e.reason === "Gone" || e.reason === "Expired");
/** 422 Invalid: the object failed validation. */
export const isInvalid = reasonIs("Invalid");
/** 403 Forbidden. */
export const isForbidden = reasonIs("Forbidden");
/** 429 TooManyRequests. */
export const isTooManyRequests = reasonIs("TooManyRequests");
