// The one error the patch machinery throws; the HTTP layer renders it as a Kubernetes Status.

export interface PatchCause {
  type: string;
  message: string;
  field: string;
}

/**
 * Thrown when a patch cannot be used:
 * - 400 BadRequest: the patch itself is malformed (not an object, unknown op, bad directive);
 * - 422 Invalid: the patch is well formed but does not apply (JSON patch `test` failed,
 *   path not found, `$retainKeys` not matching the patch, duplicate apply keys);
 * - 409 Conflict: a server-side apply changes fields another manager owns (one cause per field).
 * None of them is retryable as is: the client must change the patch (or force the apply).
 */
export class PatchError extends Error {
  constructor(
    readonly code: 400 | 409 | 422,
    readonly reason: "BadRequest" | "Invalid" | "Conflict",
    message: string,
    readonly causes?: PatchCause[],
  ) {
    super(message);
    this.name = "PatchError";
  }
}

/** 400: the patch is malformed. */
export function badPatch(message: string): PatchError {
  return new PatchError(400, "BadRequest", message);
}

/** 422: the patch is well formed but cannot be applied to this object. */
export function unappliable(message: string): PatchError {
  return new PatchError(422, "Invalid", message);
}
