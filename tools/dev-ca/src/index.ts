export { CertificateAuthority, type KeyPair, type LeafRequest } from "./authority.js";
export {
  DEFAULT_MESH_NAMES,
  ensureMeshCertificates,
  type IdentityFiles,
  MESH_SERVICES,
  type MeshFiles,
  type MeshNames,
  type MeshService,
  meshFiles,
} from "./mesh-certificates.js";
