export { BINARIES, BUILD_COMMAND, binDir, K8S_VERSION, REPO_ROOT, requireBinaries } from "./binaries.js";
export { CONTROLLERS } from "./control-plane.js";
export { type KubeletOptions, type RunningPod, TestKubelet } from "./kubelet.js";
export { linkExists, listNetns, type PodNetwork, PodSubnet } from "./netns.js";
export { grpcHealthCheck, tcpCheck } from "./probes.js";
export { isAlive, waitFor } from "./processes.js";
export { defaultCommands, down, type TestEnv, type UpOptions, up } from "./testenv.js";
