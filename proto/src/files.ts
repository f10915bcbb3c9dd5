import type { DescFile } from "@bufbuild/protobuf";
import { file_chorus_v1_agent } from "./gen/chorus/v1/agent_pb.js";
import { file_chorus_v1_chat } from "./gen/chorus/v1/chat_pb.js";
import { file_chorus_v1_history } from "./gen/chorus/v1/history_pb.js";
import { file_chorus_v1_usage } from "./gen/chorus/v1/usage_pb.js";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.js";

function withDependencies(files: readonly DescFile[]): DescFile[] {
  const ordered: DescFile[] = [];
  const visit = (file: DescFile) => {
    if (ordered.includes(file)) return;
    for (const dependency of file.dependencies) visit(dependency);
    ordered.push(file);
  };
  for (const file of files) visit(file);
  return ordered;
}

/** Every file descriptor the mesh serves, dependencies first, used to feed server reflection. */
export const allFiles: readonly DescFile[] = withDependencies([
  file_chorus_v1_chat,
  file_chorus_v1_agent,
  file_chorus_v1_history,
  file_chorus_v1_usage,
  file_grpc_health_v1_health,
]);
