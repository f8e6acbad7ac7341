// LIST from etcd: the objects under a prefix at one revision, filtered, in pages of `limit`
// with continue tokens (and remainingItemCount), as Kubernetes' storage lists them; and the
// translation of storage failures into the API errors a client sees.
import {
  ApiError,
  BadRequestError,
  GoneError,
  ResourceVersionTooLargeError,
  TimeoutError,
  UnavailableError,
} from "./errors.js";
import type { KubeObject } from "./objects.js";
import { parseResourceVersion } from "./request.js";
import {
  CompactedError,
  FutureRevisionError,
  StorageUnavailableError,
  type Storage,
} from "./storage.js";

/** Turns a storage failure into the API error a client should see. */
export function storageError(err: unknown): never {
  if (err instanceof ApiError) throw err;
  if (err instanceof StorageUnavailableError) {
    throw err.timeout ? new TimeoutError(err.message) : new UnavailableError(err.message);
  }
  if (err instanceof CompactedError)
    throw new GoneError(`The resourceVersion for the provided list is too old.`);
  if (err instanceof FutureRevisionError) {
    throw new ResourceVersionTooLargeError();
  }
  throw err;
}

export interface ListOptions {
  filter?: (obj: KubeObject) => boolean;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  /** Whether a selector is in use (no remainingItemCount then, as Kubernetes). */
  filtered?: boolean;
}

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

/**
 * One page of the objects under `prefix` that pass `filter`: at opts.resourceVersion (or the
 * continue token's revision, or the latest), starting after the continue token's key.
 */
export async function listPages(
  storage: Storage,
  prefix: string,
  filter: (obj: KubeObject) => boolean,
  opts: ListOptions,
  read: (value: Record<string, unknown>, rev: number) => KubeObject,
): Promise<ListPage> {
  let revision: number | undefined;
  let startKey: string | undefined;
  if (opts.continueToken) {
    const token = decodeContinue(opts.continueToken);
    revision = token.rv;
    startKey = prefix + token.start;
  } else if (opts.resourceVersion) {
    revision = parseResourceVersion(opts.resourceVersion);
  }
  const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
  const items: KubeObject[] = [];
  for (;;) {
    const want = limit ? Math.max(limit - items.length, 0) : 0;
    const page = await storage
      .list(prefix, { limit: limit ? Math.max(want, 50) : undefined, startKey, revision })
      .catch((err: unknown) => {
        if (err instanceof CompactedError && opts.continueToken) {
          throw new GoneError(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
          );
        }
        return storageError(err);
      });
    revision = page.revision;
    for (const item of page.items) {
      const obj = read(item.value, item.modRevision);
      if (!filter(obj)) continue;
      items.push(obj);
      if (limit && items.length === limit) {
        const more = item !== page.items[page.items.length - 1] || page.nextKey !== undefined;
        if (!more) break;
        const out: ListPage = {
          items,
          resourceVersion: String(revision),
          continueToken: encodeContinue(revision, item.key.slice(prefix.length)),
        };
        if (!opts.filtered) {
          const leftInPage = page.items.length - 1 - page.items.indexOf(item);
          out.remainingItemCount = (page.remaining ?? 0) + leftInPage;
        }
        return out;
      }
    }
    if (!page.nextKey) break;
    startKey = page.nextKey;
  }
  return { items, resourceVersion: String(revision) };
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start })).toString("base64url");
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString()) as {
      rv?: unknown;
      start?: unknown;
    };
    if (
      typeof parsed.rv === "number" &&
      typeof parsed.start === "string" &&
      !parsed.start.includes("..")
    ) {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError(`continue key is not valid: ${token.slice(0, 64)}`);
}
