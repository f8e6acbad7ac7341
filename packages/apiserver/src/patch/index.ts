// PATCH for the apiserver, as pure functions on JSON values (no HTTP, no storage):
//
//   mergePatch(obj, body)                          application/merge-patch+json
//   jsonPatch(obj, body)                           application/json-patch+json
//   strategicMergePatch(obj, body, {group, kind})  application/strategic-merge-patch+json
//   serverSideApply({live, applied, manager, force, apiVersion, now, kind})
//                                                  application/apply-patch+yaml
//   trackUpdate({old, updated, manager, operation: "Update", apiVersion, now, kind})
//                                                  managedFields for every other write
//
// Each throws PatchError (400 BadRequest, 422 Invalid, 409 Conflict) when the patch cannot be used.

export { PatchError, type PatchCause } from "./errors.js";
export { mergePatch } from "./merge-patch.js";
export { jsonPatch } from "./json-patch.js";
export { strategicMergePatch } from "./strategic.js";
export { serverSideApply, trackUpdate, type ApplyArgs, type UpdateArgs } from "./apply.js";
export { fieldStrategy, type FieldStrategy } from "./schema.js";
