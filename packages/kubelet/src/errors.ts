// The kubelet's errors: each says when it is thrown, the Kubernetes reason it shows as in a
// pod's status or an API answer, and whether retrying may help.

export abstract class KubeletError extends Error {
  abstract readonly reason: string;
  abstract readonly code: number;
  abstract readonly retryable: boolean;
}

/** Thrown by `pullImage` when the registry answers that the image or tag does not exist. */
export class ImageNotFoundError extends KubeletError {
  readonly reason = "ErrImagePull";
  readonly code = 404;
  readonly retryable = false;
  constructor(
    readonly image: string,
    detail: string,
  ) {
    super(`image ${image} not found: ${detail}`);
    this.name = "ImageNotFoundError";
  }
}

/** Thrown by `pullImage` for any other failure (registry unreachable, bad answer, timeout). */
export class ImagePullError extends KubeletError {
  readonly reason = "ErrImagePull";
  readonly code = 500;
  readonly retryable = true;
  constructor(
    readonly image: string,
    detail: string,
  ) {
    super(`pulling image ${image} failed: ${detail}`);
    this.name = "ImagePullError";
  }
}

/** Thrown when a container, sandbox, exec session or image named by the caller does not exist. */
export class RuntimeNotFoundError extends KubeletError {
  readonly reason = "NotFound";
  readonly code = 404;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "RuntimeNotFoundError";
  }
}

/** Thrown when the pod network exists with another subnet and pods still use it. */
export class PodNetworkConflictError extends KubeletError {
  readonly reason = "NetworkNotReady";
  readonly code = 409;
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = "PodNetworkConflictError";
  }
}

/** Thrown for any other refusal or failure of the container runtime (Docker's message kept). */
export class RuntimeError extends KubeletError {
  readonly reason = "RuntimeError";
  readonly code = 500;
  readonly retryable = true;
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}
