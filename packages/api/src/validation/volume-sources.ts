// Checks of the volume sources Skiff stores but does not mount (NFS, iSCSI, CSI, the cloud
// disks, ...), shared by pod volumes and PersistentVolumes, as Kubernetes 1.31 words them.
import type { PersistentVolumeClaimSpec } from "../schemas/core.js";
import type { FieldErrors } from "./errors.js";
import { inclusiveRangeError } from "./names.js";
import { validatePersistentVolumeClaimSpec } from "./storage.js";

// The fields each source cannot do without (the PV forms need the same, CSI a handle too).
const REQUIRED: Record<string, string[]> = {
  gcePersistentDisk: ["pdName"],
  awsElasticBlockStore: ["volumeID"],
  gitRepo: ["repository"],
  nfs: ["server", "path"],
  iscsi: ["targetPortal", "iqn"],
  glusterfs: ["endpoints", "path"],
  rbd: ["monitors", "image"],
  flexVolume: ["driver"],
  cinder: ["volumeID"],
  cephfs: ["monitors"],
  azureFile: ["secretName", "shareName"],
  vsphereVolume: ["volumePath"],
  quobyte: ["registry", "volume"],
  azureDisk: ["diskName", "diskURI"],
  photonPersistentDisk: ["pdID"],
  portworxVolume: ["volumeID"],
  scaleIO: ["gateway", "system", "volumeName"],
  csi: ["driver"],
};
const CACHING_MODES = ["None", "ReadOnly", "ReadWrite"];
const AZURE_DISK_KINDS = ["Dedicated", "Managed", "Shared"];

const empty = (v: unknown) => v === undefined || v === "" || (Array.isArray(v) && v.length === 0);

function inRange(errs: FieldErrors, v: unknown, min: number, path: string): void {
  if (typeof v === "number" && (v < min || v > 255))
    errs.invalid(path, v, inclusiveRangeError(min, 255));
}

/** Checks the source `name` of a volume (pod or PV) at `path` ("spec.volumes[0].nfs"). */
export function validateVolumeSource(
  errs: FieldErrors,
  name: string,
  given: object,
  path: string,
  persistent = false,
): void {
  const source = given as Record<string, unknown>;
  for (const field of REQUIRED[name] ?? []) {
    if (empty(source[field])) errs.required(`${path}.${field}`);
  }
  if (persistent && name === "csi" && empty(source.volumeHandle))
    errs.required(`${path}.volumeHandle`);
  switch (name) {
    case "gcePersistentDisk":
    case "awsElasticBlockStore":
      inRange(errs, source.partition, 1, `${path}.partition`);
      break;
    case "nfs":
      if (typeof source.path === "string" && source.path && !source.path.startsWith("/"))
        errs.invalid(`${path}.path`, source.path, "must be an absolute path");
      break;
    case "iscsi": {
      const iqn = source.iqn;
      if (typeof iqn === "string" && iqn && !/^(iqn|eui|naa)\./.test(iqn))
        errs.invalid(`${path}.iqn`, iqn, "must be valid format starting with iqn, eui, or naa");
      inRange(errs, source.lun, 0, `${path}.lun`);
      break;
    }
    case "flocker": {
      const named = !empty(source.datasetName);
      const uuid = !empty(source.datasetUUID);
      if (!named && !uuid) errs.required(path, "one of datasetName and datasetUUID is required");
      else if (named && uuid)
        errs.invalid(
          path,
          "resource",
          "datasetName and datasetUUID can not be specified simultaneously",
        );
      if (named && String(source.datasetName).includes("/"))
        errs.invalid(`${path}.datasetName`, source.datasetName, "must not contain '/'");
      break;
    }
    case "fc": {
      const wwns = !empty(source.targetWWNs);
      const wwids = !empty(source.wwids);
      const either = "must specify either targetWWNs or wwids, but not both";
      if (!wwns && !wwids) errs.required(`${path}.targetWWNs`, either);
      else if (wwns && wwids) errs.invalid(`${path}.targetWWNs`, source.targetWWNs, either);
      if (wwns && source.lun === undefined)
        errs.required(`${path}.lun`, "lun is required if targetWWNs is specified");
      inRange(errs, source.lun, 0, `${path}.lun`);
      break;
    }
    case "azureDisk":
      if (source.cachingMode !== undefined && !CACHING_MODES.includes(String(source.cachingMode)))
        errs.notSupported(`${path}.cachingMode`, source.cachingMode, CACHING_MODES);
      if (source.kind !== undefined && !AZURE_DISK_KINDS.includes(String(source.kind)))
        errs.notSupported(`${path}.kind`, source.kind, AZURE_DISK_KINDS);
      break;
    case "gitRepo": {
      const dir = source.directory;
      if (typeof dir === "string" && dir.split("/").includes(".."))
        errs.invalid(`${path}.directory`, dir, "must not contain '..'");
      else if (typeof dir === "string" && dir.startsWith("/"))
        errs.invalid(`${path}.directory`, dir, "must be a relative path");
      break;
    }
    case "csi":
      if (typeof source.driver === "string" && source.driver.length > 63)
        errs.tooLong(`${path}.driver`, 63);
      break;
    case "ephemeral": {
      const template = source.volumeClaimTemplate as
        { spec?: PersistentVolumeClaimSpec } | undefined;
      if (!template) errs.required(`${path}.volumeClaimTemplate`);
      else
        validatePersistentVolumeClaimSpec(errs, template.spec, `${path}.volumeClaimTemplate.spec`);
      break;
    }
  }
}
