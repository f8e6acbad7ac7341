// The Docker runtime's images: pulls (the engine reports failures inside its progress
// stream), presence checks shared by pods starting together, and the pullable image ID
// (repo@sha256:...) Kubernetes reports for a container.
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { isObject } from "@skiff/api";
import { ImageNotFoundError, ImagePullError } from "../errors.js";
import { arr, engineMessage, statusOf, wrap } from "./engine-json.js";
import { jsonLines } from "./streams.js";

// How long a "present" answer of imageStatus is reused (see imageStatus).
const IMAGE_STATUS_TTL_MS = 2000;

export class DockerImages {
  // Image IDs never change meaning, so their repo digests are cached for imageID.
  private readonly repoDigests = new Map<string, string[]>();
  // imageStatus answers by reference: in flight, or "present" and younger than the TTL.
  private readonly answers = new Map<string, { at: number; id: Promise<string | undefined> }>();

  constructor(private readonly docker: Docker) {}

  /** Pulls without credentials; returns the image ID. */
  async pull(image: string): Promise<string> {
    const ref = withDefaultTag(image);
    let progress: Readable;
    try {
      progress = (await this.docker.pull(ref)) as Readable;
    } catch (err) {
      throw pullError(image, err);
    }
    // The engine answers 200 at once and reports a failure later, inside the stream.
    for await (const line of jsonLines(progress)) {
      if (isObject(line) && typeof line.error === "string") throw pullError(image, line.error);
    }
    this.answers.delete(ref);
    const id = await this.status(ref);
    if (!id) throw new ImagePullError(image, "the engine reported success but has no such image");
    return id;
  }

  /**
   * Pods starting together ask about the same image: they share one inspect, and a "present"
   * answer serves for a moment (an image removed meanwhile makes the create fail, and the
   * pod's next sync asks again). "Absent" is never reused, so a pull is seen at once.
   */
  status(image: string): Promise<string | undefined> {
    const ref = withDefaultTag(image);
    const cached = this.answers.get(ref);
    if (cached && Date.now() - cached.at < IMAGE_STATUS_TTL_MS) return cached.id;
    const id = this.inspect(ref);
    const answer = { at: Date.now(), id };
    this.answers.set(ref, answer);
    const forget = () => {
      if (this.answers.get(ref) === answer) this.answers.delete(ref);
    };
    id.then((v) => v === undefined && forget(), forget);
    return id;
  }

  /** Kubernetes reports a pullable reference (repo@sha256:...) where one is known. */
  async imageID(id: string, image: string): Promise<string> {
    let digests = this.repoDigests.get(id);
    if (!digests) {
      try {
        const detail: unknown = await this.docker.getImage(id).inspect();
        digests = arr(isObject(detail) ? detail.RepoDigests : undefined).filter(
          (x): x is string => typeof x === "string",
        );
      } catch {
        digests = [];
      }
      this.repoDigests.set(id, digests);
    }
    const repo = repositoryOf(image);
    return digests.find((x) => x.startsWith(`${repo}@`)) ?? digests[0] ?? id;
  }

  private async inspect(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw wrap(err);
    }
  }
}

/** "repo" and "repo@sha256:..." stay as they are elsewhere; "repo" alone means ":latest". */
function withDefaultTag(image: string): string {
  if (image.includes("@") || image.startsWith("sha256:")) return image;
  const last = image.slice(image.lastIndexOf("/") + 1);
  return last.includes(":") ? image : `${image}:latest`;
}

function repositoryOf(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(0, at);
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? image.slice(0, colon) : image;
}

function pullError(image: string, err: unknown): Error {
  const message = typeof err === "string" ? err : engineMessage(err);
  const notFound =
    statusOf(err) === 404 ||
    /not found|manifest unknown|repository does not exist|name unknown/i.test(message);
  return notFound ? new ImageNotFoundError(image, message) : new ImagePullError(image, message);
}
